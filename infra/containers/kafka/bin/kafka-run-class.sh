#!/usr/bin/env bash
# kafka-run-class.sh CLASS [args]: one of Kafka's command-line tools, as in the Apache distribution.
# shellcheck disable=SC2086
exec java ${KAFKA_HEAP_OPTS:--Xmx256m} -Dlog4j2.configurationFile=/opt/kafka/config/tools-log4j2.properties \
  -cp '/opt/kafka/libs/*' "$@"
