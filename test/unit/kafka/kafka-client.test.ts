import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../../../src/config/load-pipeline-config.js';
import { ConfigError } from '../../../src/errors.js';
import { logLevel } from 'kafkajs';
import { createKafka, kafkaClientConfig, kafkaLogLevel, kafkaSecurity } from '../../../src/kafka/kafka-client.js';

const logger = pino({ level: 'silent' });
const secret = 'pa55-w0rd-that-must-never-be-logged';

function files(): { dir: string; write(name: string, content: string): string } {
  const dir = mkdtempSync(join(tmpdir(), 'tangent-kafka-client-'));
  return {
    dir,
    write: (name, content) => {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
  };
}

function fieldOf(thunk: () => unknown): { field: string; message: string } {
  try {
    thunk();
  } catch (error) {
    if (error instanceof ConfigError) return { field: error.field, message: error.message };
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('kafka security settings', () => {
  it('SASL with the password from a file reaches the kafkajs options (mechanism, username, password)', () => {
    const f = files();
    const passwordFile = f.write('password', `${secret}\n`);
    for (const mechanism of ['plain', 'SCRAM-SHA-256', 'scram-sha-512'] as const) {
      const config = parsePipelineConfig({ kafka: { sasl: { mechanism, username: 'tangent', passwordFile } } });
      const options = kafkaClientConfig(config.kafka, logger, {});
      expect(options.sasl).toEqual({ mechanism: mechanism.toLowerCase(), username: 'tangent', password: secret });
      expect(options.ssl).toBeUndefined();
      expect(options.brokers).toEqual(config.kafka.brokers);
    }
  });

  it('SASL with the password from an environment variable', () => {
    const config = parsePipelineConfig({ kafka: { sasl: { mechanism: 'scram-sha-512', username: 'u', passwordEnv: 'KAFKA_PASSWORD' } } });
    expect(kafkaSecurity(config.kafka, { KAFKA_PASSWORD: secret }).sasl).toEqual({ mechanism: 'scram-sha-512', username: 'u', password: secret });
  });

  it('TLS: CA, client certificate and key read from their files; rejectUnauthorized on by default', () => {
    const f = files();
    const caFile = f.write('ca.pem', 'CA PEM');
    const certFile = f.write('cert.pem', 'CERT PEM');
    const keyFile = f.write('key.pem', 'KEY PEM');
    const config = parsePipelineConfig({ kafka: { ssl: { caFile, certFile, keyFile } } });
    expect(kafkaSecurity(config.kafka, {}).ssl).toEqual({ ca: ['CA PEM'], cert: 'CERT PEM', key: 'KEY PEM', rejectUnauthorized: true });
    const plain = parsePipelineConfig({ kafka: { ssl: { enabled: true, rejectUnauthorized: false } } });
    expect(kafkaSecurity(plain.kafka, {}).ssl).toEqual({ rejectUnauthorized: false });
    expect(kafkaSecurity(parsePipelineConfig({ kafka: { ssl: { enabled: false } } }).kafka, {})).toEqual({});
    expect(kafkaSecurity(parsePipelineConfig({}).kafka, {})).toEqual({});
  });

  it('createKafka builds a client with them (and without them, as before)', () => {
    const f = files();
    const config = parsePipelineConfig({
      kafka: { sasl: { mechanism: 'plain', username: 'u', passwordFile: f.write('p', secret) }, ssl: { rejectUnauthorized: false } },
    });
    expect(createKafka(config.kafka, logger, {})).toBeDefined();
    expect(createKafka({ brokers: ['127.0.0.1:1'], clientId: 'x' }, logger)).toBeDefined();
  });

  it('validation names the bad field', () => {
    const cases: [unknown, string][] = [
      [{ sasl: { mechanism: 'gssapi', username: 'u', passwordEnv: 'P' } }, 'kafka.sasl.mechanism'],
      [{ sasl: { mechanism: 'plain', passwordEnv: 'P' } }, 'kafka.sasl.username'],
      [{ sasl: { mechanism: 'plain', username: 'u' } }, 'kafka.sasl.passwordFile'],
      [{ sasl: { mechanism: 'plain', username: 'u', passwordFile: '/x', passwordEnv: 'P' } }, 'kafka.sasl.passwordFile'],
      [{ sasl: { mechanism: 'plain', username: 'u', passwordEnv: 'P', password: secret } }, 'kafka.sasl.password'],
      [{ sasl: { mechanism: 'plain', username: 'u', passwordEnv: 'P', token: 'x' } }, 'kafka.sasl.token'],
      [{ ssl: { certFile: '/c.pem' } }, 'kafka.ssl.keyFile'],
      [{ ssl: { enabled: 'yes' } }, 'kafka.ssl.enabled'],
      [{ ssl: { rejectUnauthorised: false } }, 'kafka.ssl.rejectUnauthorised'],
    ];
    for (const [kafka, field] of cases) {
      const error = fieldOf(() => parsePipelineConfig({ kafka }));
      expect(error.field, JSON.stringify(kafka)).toBe(field);
      expect(error.message).not.toContain(secret);
    }
    expect(fieldOf(() => parsePipelineConfig({ kafka: { sasl: { mechanism: 'plain', username: 'u', password: secret, passwordEnv: 'P' } } })).message).toMatch(
      /passwordFile or passwordEnv/,
    );
  });

  it('a missing secret fails at start naming the field and the file or variable, never a secret', () => {
    const f = files();
    const missingEnv = parsePipelineConfig({ kafka: { sasl: { mechanism: 'plain', username: 'u', passwordEnv: 'NOT_SET_ANYWHERE' } } });
    expect(fieldOf(() => kafkaSecurity(missingEnv.kafka, {}))).toMatchObject({ field: 'kafka.sasl.passwordEnv' });
    expect(fieldOf(() => kafkaSecurity(missingEnv.kafka, {})).message).toContain('NOT_SET_ANYWHERE');
    const missingFile = parsePipelineConfig({ kafka: { sasl: { mechanism: 'plain', username: 'u', passwordFile: join(f.dir, 'nope') } } });
    expect(fieldOf(() => kafkaSecurity(missingFile.kafka, {}))).toMatchObject({ field: 'kafka.sasl.passwordFile' });
    const emptyFile = parsePipelineConfig({ kafka: { sasl: { mechanism: 'plain', username: 'u', passwordFile: f.write('empty', '\n') } } });
    expect(fieldOf(() => kafkaSecurity(emptyFile.kafka, {}))).toMatchObject({ field: 'kafka.sasl.passwordFile' });
    const missingKey = parsePipelineConfig({ kafka: { ssl: { certFile: f.write('c', 'C'), keyFile: join(f.dir, 'no-key') } } });
    expect(fieldOf(() => kafkaSecurity(missingKey.kafka, {}))).toMatchObject({ field: 'kafka.ssl.keyFile' });
  });
});

describe('kafkajs log levels', () => {
  it('keeps retried and retriable kafkajs errors below error level, and the rest where kafkajs put them', () => {
    const { ERROR, WARN, INFO } = logLevel;
    // Messages as kafkajs logs them on a fresh broker and while it cannot connect.
    expect(kafkaLogLevel(ERROR, { message: 'Response GroupCoordinator(key: 10, version: 2)', error: 'The group coordinator is not available' })).toBe('info');
    expect(kafkaLogLevel(ERROR, { message: 'Crash: KafkaJSProtocolError: The coordinator is loading and hence can\'t process requests for this group' })).toBe('info');
    expect(kafkaLogLevel(ERROR, { message: 'Restarting the consumer in 300ms', retryCount: 0, retryTime: 300 })).toBe('info');
    expect(kafkaLogLevel(ERROR, { message: 'Connection error: connect ECONNREFUSED 127.0.0.1:1' })).toBe('info');
    expect(kafkaLogLevel(ERROR, { message: 'Failed to connect to seed broker, trying another broker from the list: x', retryCount: 3, retryTime: 2000 })).toBe('info');
    expect(kafkaLogLevel(ERROR, { message: 'Crash: KafkaJSProtocolError: Not authorized to access topics: [Topic authorization failed]' })).toBe('error');
    expect(kafkaLogLevel(ERROR, { message: 'SASL SCRAM SHA256 authentication failed' })).toBe('error');
    expect(kafkaLogLevel(WARN, { message: 'KafkaJS v2.0.0 switched default partitioner' })).toBe('warn');
    expect(kafkaLogLevel(INFO, { message: 'Starting' })).toBe('info');
  });
});
