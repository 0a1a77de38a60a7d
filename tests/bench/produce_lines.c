/* A plain librdkafka producer for tests/bench/delivery_compare.sh: what kcat -P -K -l does, plus
 * per-message headers, which kcat cannot take from its input (its -H headers are the same on
 * every message, so they compress away). Each line of FILE is one message:
 *
 *   key TAB value [TAB header-name=header-value ...]
 *
 *   produce_lines BOOTSTRAP TOPIC FILE [librdkafka-property=value ...]
 *
 * Waits for every delivery report before it exits; exit 1 if any message failed. Built by the
 * script with cc against the librdkafka sinkhost uses; not part of the CMake build. */
#include <librdkafka/rdkafka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long failed = 0;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  if (m->err) {
    if (failed++ == 0) fprintf(stderr, "produce_lines: delivery failed: %s\n", rd_kafka_err2str(m->err));
  }
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: produce_lines BOOTSTRAP TOPIC FILE [property=value ...]\n");
    return 2;
  }
  char error[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], error, sizeof error) != RD_KAFKA_CONF_OK) goto bad_conf;
  for (int i = 4; i < argc; ++i) {
    char *eq = strchr(argv[i], '=');
    if (!eq) {
      fprintf(stderr, "produce_lines: '%s' is not property=value\n", argv[i]);
      return 2;
    }
    *eq = '\0';
    if (rd_kafka_conf_set(conf, argv[i], eq + 1, error, sizeof error) != RD_KAFKA_CONF_OK) goto bad_conf;
  }
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t *producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (!producer) goto bad_conf;
  rd_kafka_topic_t *topic = rd_kafka_topic_new(producer, argv[2], NULL);

  FILE *in = fopen(argv[3], "r");
  if (!in) {
    perror(argv[3]);
    return 1;
  }
  char *line = NULL;
  size_t capacity = 0;
  ssize_t length;
  long sent = 0;
  while ((length = getline(&line, &capacity, in)) > 0) {
    if (line[length - 1] == '\n') line[--length] = '\0';
    char *key = line;
    char *value = strchr(key, '\t');
    if (!value) continue;
    *value++ = '\0';
    char *rest = strchr(value, '\t');
    if (rest) *rest++ = '\0';
    rd_kafka_headers_t *headers = rd_kafka_headers_new(16);
    while (rest && *rest) {
      char *next = strchr(rest, '\t');
      if (next) *next++ = '\0';
      char *eq = strchr(rest, '=');
      if (eq) rd_kafka_header_add(headers, rest, eq - rest, eq + 1, -1);
      rest = next;
    }
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_producev(producer, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(value, strlen(value)),
                                    RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer, 10);
    }
    if (err) {
      fprintf(stderr, "produce_lines: %s\n", rd_kafka_err2str(err));
      return 1;
    }
    ++sent;
    rd_kafka_poll(producer, 0);
  }
  fclose(in);
  free(line);
  while (rd_kafka_outq_len(producer) > 0) rd_kafka_poll(producer, 50);
  rd_kafka_topic_destroy(topic);
  rd_kafka_destroy(producer);
  if (failed) fprintf(stderr, "produce_lines: %ld of %ld messages failed\n", failed, sent);
  return failed ? 1 : 0;

bad_conf:
  fprintf(stderr, "produce_lines: %s\n", error);
  return 2;
}
