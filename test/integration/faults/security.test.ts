import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { uniqueName, waitFor } from '../kafka-helpers.js';
import { ConsumerProcess, tempDir, writePipeline } from './fault-helpers.js';

/**
 * The local broker speaks PLAINTEXT only, so these runs cannot authenticate:
 * they show that the SASL and TLS settings reach kafkajs (it sends a
 * SaslHandshake, it builds a TLS context from the files) and that the
 * secrets appear nowhere in everything the process writes, at debug level,
 * through the failure and its retries.
 */
describe('secrets', () => {
  it('a SASL password from the environment or a file, and a TLS key file, never appear in any log output', async () => {
    const dir = tempDir('secrets');
    const envSecret = `env-secret-${randomBytes(12).toString('hex')}`;
    const fileSecret = `file-secret-${randomBytes(12).toString('hex')}`;
    const keySecret = randomBytes(24).toString('base64');
    const passwordFile = join(dir, 'kafka-password');
    writeFileSync(passwordFile, `${fileSecret}\n`, { mode: 0o600 });
    const keyFile = join(dir, 'client.key');
    writeFileSync(keyFile, `-----BEGIN PRIVATE KEY-----\n${keySecret}\n-----END PRIVATE KEY-----\n`, { mode: 0o600 });
    const certFile = join(dir, 'client.crt');
    writeFileSync(certFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const topic = uniqueName('faults-secrets');
    const base = { model: { backend: 'cpu' }, checkpoint: { dir }, metrics: { port: 0 }, summaryIntervalSeconds: 1 };

    // 1. SCRAM-SHA-512, password from an environment variable: the broker refuses the handshake, the process exits.
    const scram = new ConsumerProcess(
      writePipeline(dir, { ...base, kafka: { topic, groupId: topic, sasl: { mechanism: 'SCRAM-SHA-512', username: 'tangent', passwordEnv: 'TANGENT_TEST_KAFKA_PASSWORD' } } }),
      { TANGENT_LOG_LEVEL: 'debug', TANGENT_TEST_KAFKA_PASSWORD: envSecret },
    );
    const scramExit = await Promise.race([scram.exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 90_000))]);
    scram.kill('SIGKILL');
    expect(scramExit).not.toBe('timeout');
    expect((scramExit as { code: number }).code).not.toBe(0);
    const scramOutput = scram.stdout + scram.stderr;
    expect(scramOutput).toContain('SaslHandshake');

    // 2. PLAIN from a file, over TLS with a client certificate and key: kafkajs builds the TLS context from the files and fails on them.
    const tls = new ConsumerProcess(
      writePipeline(dir, {
        ...base,
        kafka: { topic, groupId: topic, sasl: { mechanism: 'plain', username: 'tangent', passwordFile }, ssl: { certFile, keyFile } },
      }),
      { TANGENT_LOG_LEVEL: 'debug' },
    );
    await waitFor(() => tls.stdout.includes('Failed to connect') || !tls.running, 90_000, 'a failed TLS connection');
    tls.kill('SIGTERM');
    await tls.exited;
    const tlsOutput = tls.stdout + tls.stderr;
    expect(tlsOutput).toContain('Failed to connect');

    for (const [name, output] of [
      ['scram', scramOutput],
      ['tls', tlsOutput],
    ] as const) {
      for (const secret of [envSecret, fileSecret, keySecret]) expect(output.includes(secret), `${name} output leaks a secret`).toBe(false);
    }
    console.log(
      `[faults/secrets] ${scramOutput.length + tlsOutput.length} bytes of debug-level output from two failing runs ` +
        `(SCRAM-SHA-512 from env: "${/"error":"([^"]*)"[^}]*SaslHandshake/.exec(scramOutput)?.[1] ?? '?'}"; PLAIN from a file over mutual TLS: ` +
        `"${/Failed to connect: ([^"]*)"/.exec(tlsOutput)?.[1] ?? '?'}"): no secret in any of it`,
    );
  });
});
