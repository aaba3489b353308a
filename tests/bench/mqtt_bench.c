/* mqtt_bench.c - MQTT load for `make bench` (tools/bench-mqtt.sh), on libmosquitto.
 *
 *   mqtt_bench pub HOST PORT SECONDS PUBLISHERS USER PASS TOPIC
 *     One subscriber on TOPIC counts what it receives while PUBLISHERS threads publish 32-byte
 *     QoS 0 messages to TOPIC as fast as the broker takes them, for SECONDS.
 *     Prints "RESULT <received msgs/s> <published msgs/s>".
 *   mqtt_bench connect HOST PORT SECONDS THREADS USER PASS
 *     Each thread loops CONNECT -> CONNACK -> DISCONNECT for SECONDS. PASS "@FILE" takes the
 *     passwords from FILE, one a line, used in turn (distinct tokens: no verification cache).
 *     Prints "RESULT <accepted connects/s> <refused>".
 *
 * USER is the MQTT username, PASS the password (a Tessera access token for the plugin). Client
 * ids are "<USER>:bench-<pid>-..." so that two runs never take over each other's sessions, and
 * so that a token of the OAuth client USER may use them under the plugin's
 * plugin_opt_client_id_rule prefix.
 * libmosquitto makes every connection; in pub mode the messages then go over its socket directly
 * (see "pub mode" below for why), at most one burst of them in the process at any time.
 *
 * Build: cc -O2 -o build/mqtt_bench tests/bench/mqtt_bench.c -lmosquitto -lpthread */
#include <errno.h>
#include <poll.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BURST 64		/* QoS 0 publishes between two looks at the socket */
#define PAYLOAD 32
#define KEEPALIVE 60
#define MAX_THREADS 1024

static const char *host, *user, *pass, *topic;
static int port, secs, nthreads;
static atomic_int stop, ready, go;
static atomic_long published_by[MAX_THREADS];
static char **passes;		/* connect mode with PASS @FILE: the passwords */
static size_t npasses;
static atomic_long received, accepted, refused, failed;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "mqtt_bench: %s: %s\n", what,
	        rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
	exit(1);
}

/* A client with the credentials; id is "<user>:bench-<pid>-<what>". */
static struct mosquitto *client(const char *what, void *obj)
{
	char id[256];
	struct mosquitto *m;

	snprintf(id, sizeof id, "%.200s:bench-%ld-%s", user, (long)getpid(), what);
	if (!(m = mosquitto_new(id, true, obj)))
		die("mosquitto_new", MOSQ_ERR_NOMEM);
	if (mosquitto_username_pw_set(m, user, pass) != MOSQ_ERR_SUCCESS)
		die("mosquitto_username_pw_set", MOSQ_ERR_NOMEM);
	return m;
}

/* Connects m and waits for its CONNACK; exits on refusal (pub mode wants every client in). */
static void on_connack(struct mosquitto *m, void *obj, int rc)
{
	(void)m;
	*(int *)obj = rc;
}

static void connect_wait(struct mosquitto *m, int *connack, int keepalive)
{
	int rc;
	double deadline = now() + 10;

	*connack = -1;
	mosquitto_connect_callback_set(m, on_connack);
	if ((rc = mosquitto_connect(m, host, port, keepalive)) != MOSQ_ERR_SUCCESS)
		die("connect", rc);
	while (*connack < 0 && now() < deadline) {
		if ((rc = mosquitto_loop(m, 100, 1)) != MOSQ_ERR_SUCCESS && *connack < 0)
			die("waiting for CONNACK", rc);
	}
	if (*connack != 0) {
		fprintf(stderr, "mqtt_bench: CONNACK %d: %s\n", *connack,
		        *connack < 0 ? "timeout" : mosquitto_connack_string(*connack));
		exit(1);
	}
}

/* ---- pub mode ----
 * libmosquitto makes each connection (CONNECT with the credentials, CONNACK, SUBSCRIBE/SUBACK);
 * the data then moves on the connection's socket directly. Through the library a subscriber costs
 * several system calls per message (it reads each packet's header and body separately, and a
 * select() before each packet), a publisher one write() per message, and either would be slower
 * than the broker it measures: the figure would be the client's. Here a publisher writes whole
 * bursts of ready-made PUBLISH packets, a subscriber reads 256 KiB at a time and counts the
 * PUBLISH packets in the stream. Both only move what the socket takes (non-blocking, poll()), so
 * nothing queues up in the process; keepalive is long enough that no PINGREQ is due. */

#define KEEPALIVE_PUB 3600
#define QUIET 0.5		/* seconds without a message: the subscriber has all there is */

static double last_rx;		/* when the subscriber last got a message */

struct sub_state {
	int connack, subscribed;
};

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
	struct sub_state *s = obj;

	(void)m;
	(void)mid;
	s->subscribed = n == 1 && granted[0] == 0 ? 1 : -1;
}

/* Waits until fd is ready for events (or 100 ms passed); exits if the broker hung up. */
static void wait_fd(int fd, short events, const char *who)
{
	struct pollfd p = {fd, events, 0};

	if (poll(&p, 1, 100) < 0 && errno != EINTR)
		die("poll", MOSQ_ERR_ERRNO);
	if (p.revents & (POLLERR | POLLHUP) && !(p.revents & POLLIN)) {
		fprintf(stderr, "mqtt_bench: the broker closed the %s connection\n", who);
		exit(1);
	}
}

static void *subscriber(void *arg)
{
	int fd = *(int *)arg;
	static unsigned char buf[256 * 1024];
	/* the fixed header parser: 0 = at a packet's first byte, 1 = in its remaining length,
	 * 2 = skipping its remaining bytes */
	int state = 0;
	size_t len = 0, mult = 1;
	long n = 0;
	ssize_t got, i;

	for (;;) {
		if (atomic_load_explicit(&stop, memory_order_relaxed) && now() > last_rx + QUIET)
			break;
		got = read(fd, buf, sizeof buf);
		if (got == 0) {
			fprintf(stderr, "mqtt_bench: the broker closed the subscriber's connection\n");
			exit(1);
		}
		if (got < 0) {
			if (errno != EAGAIN && errno != EINTR)
				die("subscriber read", MOSQ_ERR_ERRNO);
			wait_fd(fd, POLLIN, "subscriber's");
			continue;
		}
		for (i = 0; i < got;) {
			if (state == 0) {
				if (buf[i] >> 4 == 3)	/* PUBLISH */
					n++;
				state = 1;
				len = 0;
				mult = 1;
				i++;
			} else if (state == 1) {
				len += (buf[i] & 127) * mult;
				mult *= 128;
				state = buf[i++] & 128 ? 1 : len ? 2 : 0;
			} else {
				size_t k = (size_t)(got - i) < len ? (size_t)(got - i) : len;

				i += (ssize_t)k;
				len -= k;
				state = len ? 2 : 0;
			}
		}
		if (n != atomic_load_explicit(&received, memory_order_relaxed)) {
			atomic_store_explicit(&received, n, memory_order_relaxed);
			last_rx = now();
		}
	}
	return NULL;
}

static void *publisher(void *arg)
{
	long i = (long)arg;
	char what[32];
	struct mosquitto *m;
	unsigned char *burst, *p;
	size_t tlen = strlen(topic), rlen = 2 + tlen + PAYLOAD, plen, blen, off;
	long bursts = 0;
	ssize_t w;
	int connack, fd, k;

	snprintf(what, sizeof what, "pub%ld", i);
	m = client(what, &connack);
	connect_wait(m, &connack, KEEPALIVE_PUB);
	fd = mosquitto_socket(m);
	/* BURST QoS 0 PUBLISH packets: 0x30, remaining length, topic length, topic, payload */
	plen = 1 + (rlen < 128 ? 1 : rlen < 16384 ? 2 : 3) + rlen;
	if (!(burst = malloc(blen = plen * BURST)))
		die("malloc", MOSQ_ERR_NOMEM);
	for (p = burst, k = 0; k < BURST; k++) {
		size_t r = rlen;

		*p++ = 0x30;
		do {
			*p++ = (unsigned char)((r & 127) | (r > 127 ? 128 : 0));
			r >>= 7;
		} while (r);
		*p++ = (unsigned char)(tlen >> 8);
		*p++ = (unsigned char)tlen;
		memcpy(p, topic, tlen);
		p += tlen;
		memset(p, 'x', PAYLOAD);
		p += PAYLOAD;
	}
	atomic_fetch_add(&ready, 1);
	while (!atomic_load(&go))
		usleep(1000);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (off = 0; off < blen;) {	/* a whole burst, so no packet is left cut */
			w = write(fd, burst + off, blen - off);
			if (w > 0) {
				off += (size_t)w;
			} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
				wait_fd(fd, POLLOUT, "publisher's");
			} else {
				die("publisher write", MOSQ_ERR_ERRNO);
			}
		}
		atomic_store_explicit(&published_by[i], ++bursts * BURST, memory_order_relaxed);
	}
	mosquitto_disconnect(m);
	mosquitto_destroy(m);
	free(burst);
	return NULL;
}

static long sum_published(int publishers)
{
	long n = 0;
	int i;

	for (i = 0; i < publishers; i++)
		n += atomic_load(&published_by[i]);
	return n;
}

static int run_pub(int publishers)
{
	pthread_t th[MAX_THREADS], sth;
	struct sub_state s = {0};
	struct mosquitto *sub = client("sub", &s);
	double t0, t1;
	long r, p;
	int i, rc, fd;

	mosquitto_subscribe_callback_set(sub, on_subscribe);
	connect_wait(sub, &s.connack, KEEPALIVE_PUB);
	if ((rc = mosquitto_subscribe(sub, NULL, topic, 0)) != MOSQ_ERR_SUCCESS)
		die("subscribe", rc);
	while (!s.subscribed) {
		if ((rc = mosquitto_loop(sub, 100, 1)) != MOSQ_ERR_SUCCESS)
			die("waiting for SUBACK", rc);
	}
	if (s.subscribed < 0) {
		fprintf(stderr, "mqtt_bench: SUBSCRIBE to %s refused\n", topic);
		return 1;
	}
	fd = mosquitto_socket(sub);
	if (pthread_create(&sth, NULL, subscriber, &fd))
		die("pthread_create", MOSQ_ERR_ERRNO);
	for (i = 0; i < publishers; i++) {
		if (pthread_create(&th[i], NULL, publisher, (void *)(long)i))
			die("pthread_create", MOSQ_ERR_ERRNO);
	}
	while (atomic_load(&ready) < publishers)
		usleep(1000);
	/* received msgs/s: everything received, over the time from the first publish to the last
	 * message in, so that what waits in socket buffers at the end is neither lost nor free */
	t0 = last_rx = now();
	atomic_store(&go, 1);
	while (now() < t0 + secs)
		usleep(10000);
	atomic_store(&stop, 1);
	t1 = now();
	for (i = 0; i < publishers; i++)
		pthread_join(th[i], NULL);
	pthread_join(sth, NULL);
	r = atomic_load(&received);
	p = sum_published(publishers);
	mosquitto_disconnect(sub);
	mosquitto_destroy(sub);
	if (r > p) {
		fprintf(stderr, "mqtt_bench: received %ld > published %ld?\n", r, p);
		return 1;
	}
	printf("RESULT %.0f %.0f\n", r / (last_rx - t0), p / (t1 - t0));
	return 0;
}

/* ---- connect mode ---- */

static void *connector(void *arg)
{
	long i = (long)arg;
	char what[32];
	struct mosquitto *m;
	struct linger lg = {1, 0};
	int connack, rc, fd;
	double deadline;
	size_t next = npasses ? (size_t)i % npasses : 0;

	snprintf(what, sizeof what, "conn%ld", i);
	m = client(what, &connack);
	mosquitto_connect_callback_set(m, on_connack);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		connack = -1;
		if (npasses) {	/* thread i takes passwords i, i + THREADS, ... */
			if (mosquitto_username_pw_set(m, user, passes[next]) != MOSQ_ERR_SUCCESS)
				die("mosquitto_username_pw_set", MOSQ_ERR_NOMEM);
			next = (next + (size_t)nthreads) % npasses;
		}
		if (mosquitto_connect(m, host, port, KEEPALIVE) != MOSQ_ERR_SUCCESS) {
			atomic_fetch_add(&failed, 1);
			usleep(1000);
			continue;
		}
		deadline = now() + 5;
		while (connack < 0 && now() < deadline) {
			if (mosquitto_loop(m, 100, 1) != MOSQ_ERR_SUCCESS)
				break;	/* a refusal closes the connection after its CONNACK */
		}
		if (connack == 0) {
			atomic_fetch_add_explicit(&accepted, 1, memory_order_relaxed);
			/* close with RST: thousands of connects a second would otherwise leave as
			 * many ports in TIME_WAIT and run out of them */
			if ((fd = mosquitto_socket(m)) >= 0)
				setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			if ((rc = mosquitto_disconnect(m)) != MOSQ_ERR_SUCCESS &&
			    rc != MOSQ_ERR_NO_CONN)
				atomic_fetch_add(&failed, 1);
			mosquitto_loop(m, 0, 1);	/* close it if the DISCONNECT was queued */
		} else if (connack > 0) {
			atomic_fetch_add_explicit(&refused, 1, memory_order_relaxed);
		} else {
			atomic_fetch_add(&failed, 1);
		}
	}
	mosquitto_destroy(m);
	return NULL;
}

static int run_connect(int threads)
{
	pthread_t th[MAX_THREADS];
	double t0, t1;
	long a, r;
	int i;

	t0 = now();
	for (i = 0; i < threads; i++) {
		if (pthread_create(&th[i], NULL, connector, (void *)(long)i))
			die("pthread_create", MOSQ_ERR_ERRNO);
	}
	while (now() < t0 + secs)
		usleep(10000);
	atomic_store(&stop, 1);
	a = atomic_load(&accepted);
	r = atomic_load(&refused);
	t1 = now();
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	if (atomic_load(&failed))
		fprintf(stderr, "mqtt_bench: %ld connects failed (no CONNACK)\n", atomic_load(&failed));
	printf("RESULT %.0f %ld\n", a / (t1 - t0), r);
	return 0;
}

/* Reads the passwords of FILE (one a line) into passes. */
static void load_passes(const char *file)
{
	FILE *f = fopen(file, "r");
	char *line = NULL, **p;
	size_t cap = 0, room = 0;
	ssize_t len;

	if (!f)
		die(file, MOSQ_ERR_ERRNO);
	while ((len = getline(&line, &cap, f)) > 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (!len)
			continue;
		if (npasses == room) {
			room = room ? room * 2 : 1024;
			if (!(p = realloc(passes, room * sizeof *p)))
				die("realloc", MOSQ_ERR_NOMEM);
			passes = p;
		}
		if (!(passes[npasses++] = strdup(line)))
			die("strdup", MOSQ_ERR_NOMEM);
	}
	free(line);
	fclose(f);
	if (!npasses) {
		fprintf(stderr, "mqtt_bench: no passwords in %s\n", file);
		exit(1);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: mqtt_bench pub HOST PORT SECONDS PUBLISHERS USER PASS TOPIC\n"
	                "       mqtt_bench connect HOST PORT SECONDS THREADS USER PASS|@FILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int pub, n, rc;

	if (argc < 8)
		usage();
	pub = strcmp(argv[1], "pub") == 0;
	if ((!pub && strcmp(argv[1], "connect") != 0) || argc != (pub ? 9 : 8))
		usage();
	host = argv[2];
	port = atoi(argv[3]);
	secs = atoi(argv[4]);
	n = atoi(argv[5]);
	user = argv[6];
	pass = argv[7];
	topic = pub ? argv[8] : NULL;
	if (port <= 0 || port > 65535 || secs <= 0 || n <= 0 || n > MAX_THREADS)
		usage();
	nthreads = n;
	if (!pub && pass[0] == '@')
		load_passes(pass + 1);
	mosquitto_lib_init();
	rc = pub ? run_pub(n) : run_connect(n);
	mosquitto_lib_cleanup();
	return rc;
}
