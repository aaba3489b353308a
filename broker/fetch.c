/* fetch.c - libcurl set up once for the plugin's two endpoints (see fetch.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fetch.h"
#include "secret.h"

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static CURLcode fetch_global_rc = CURLE_FAILED_INIT;

/* curl_global_init is not safe to run twice at once; it is run once and never undone. */
static void fetch_global_init(void)
{
	fetch_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct fetch_sink {
	char *p;
	size_t len, cap;
	int too_large;
};

static size_t fetch_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fetch_sink *s = arg;
	size_t n = size * nmemb, cap;
	char *p;

	if (n > FETCH_MAX_BODY - s->len) {
		s->too_large = 1;
		return 0; /* CURLE_WRITE_ERROR */
	}
	if (s->len + n + 1 > s->cap) {
		cap = s->cap ? s->cap : 4096;
		while (cap < s->len + n + 1)
			cap *= 2;
		p = realloc(s->p, cap);
		if (!p)
			return 0;
		s->p = p;
		s->cap = cap;
	}
	memcpy(s->p + s->len, data, n);
	s->len += n;
	s->p[s->len] = '\0';
	return n;
}

/* Reads Retry-After (RFC 9110 §10.2.3) from a header line into *arg (a long). The last one of
 * the last response wins; anything unreadable is -1. */
static size_t fetch_header(char *data, size_t size, size_t nitems, void *arg)
{
	static const char name[] = "retry-after:";
	long *retry_after = arg;
	size_t n = size * nitems, i = sizeof name - 1, k;
	char value[64];
	long v = 0;
	time_t when, now;

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		*retry_after = -1;      /* a new response (after a 1xx): forget the last one's */
		return n;
	}
	if (n < i || strncasecmp(data, name, i) != 0)
		return n;
	while (i < n && (data[i] == ' ' || data[i] == '\t'))
		i++;
	for (k = 0; i < n && data[i] != '\r' && data[i] != '\n' && k < sizeof value - 1; i++)
		value[k++] = data[i];
	while (k > 0 && (value[k - 1] == ' ' || value[k - 1] == '\t'))
		k--;
	value[k] = '\0';
	*retry_after = -1;
	if (k > 0 && strspn(value, "0123456789") == k) {
		for (i = 0; i < k && v <= FETCH_MAX_RETRY_AFTER; i++)
			v = v * 10 + (value[i] - '0');
		*retry_after = v < FETCH_MAX_RETRY_AFTER ? v : FETCH_MAX_RETRY_AFTER;
	} else if (k > 0 && (when = curl_getdate(value, NULL)) != -1) {
		now = time(NULL);
		*retry_after = when <= now ? 0 : when - now < FETCH_MAX_RETRY_AFTER ?
		               (long)(when - now) : FETCH_MAX_RETRY_AFTER;
	}
	return n;
}

static int fetch_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                          curl_off_t ulnow)
{
	const atomic_int *stop = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return atomic_load(stop) ? 1 : 0;
}

ts_err fetch_new(const char *url, const char *ca_file, const atomic_int *stop, CURL **out,
                 const char **why)
{
	CURL *c = NULL;
	int bad = 0;

	*out = NULL;
	if (!url || (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)) {
		*why = "the URL must start with http:// or https://";
		return TS_INVALID_REQUEST;
	}
	pthread_once(&fetch_once, fetch_global_init);
	if (fetch_global_rc != CURLE_OK) {
		*why = "libcurl failed to initialise";
		return TS_SERVER_ERROR;
	}
	c = curl_easy_init();
	if (!c) {
		*why = "out of memory";
		return TS_SERVER_ERROR;
	}
	bad |= curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
	bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK;
#else
	bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS,
	                        (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK;
#endif
	bad |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)FETCH_TIMEOUT) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)FETCH_TIMEOUT) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)FETCH_MAX_BODY) != CURLE_OK;
	/* a token must not go to a proxy that only the environment names */
	bad |= curl_easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_USERAGENT, "tessera-mosquitto") != CURLE_OK;
	if (ca_file)
		bad |= curl_easy_setopt(c, CURLOPT_CAINFO, ca_file) != CURLE_OK;
	if (stop) {
		bad |= curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, fetch_progress) != CURLE_OK;
		bad |= curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)stop) != CURLE_OK;
		bad |= curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK;
	}
	if (bad) {
		curl_easy_cleanup(c);
		*why = "libcurl refused an option (http/https support missing?)";
		return TS_SERVER_ERROR;
	}
	*out = c;
	return TS_OK;
}

ts_err fetch_do(CURL *c, const char *body, size_t blen, struct curl_slist *headers,
                struct fetch_reply *r, const char **why)
{
	struct fetch_sink sink = {0};
	CURLcode cc;
	ts_err rc = TS_UNAVAILABLE;
	int bad = 0;

	memset(r, 0, sizeof *r);
	r->retry_after = -1;
	bad |= curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, fetch_header) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->retry_after) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) != CURLE_OK;
	if (body) {
		bad |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen) != CURLE_OK;
		bad |= curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK;
	} else {
		bad |= curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) != CURLE_OK;
	}
	if (bad) {
		*why = "libcurl refused an option";
		rc = TS_SERVER_ERROR;
		goto out;
	}
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		if (sink.too_large || cc == CURLE_FILESIZE_EXCEEDED)
			*why = "the answer is larger than 1 MiB";
		else if (cc == CURLE_OPERATION_TIMEDOUT)
			*why = "no answer within 5 seconds";
		else if (cc == CURLE_ABORTED_BY_CALLBACK)
			*why = "stopped";
		else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST)
			*why = "cannot connect";
		else
			*why = "the HTTP request failed";
		goto out;
	}
	if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status) != CURLE_OK) {
		*why = "no HTTP status";
		goto out;
	}
	if (!sink.p) {
		sink.p = calloc(1, 1);
		if (!sink.p) {
			*why = "out of memory";
			rc = TS_SERVER_ERROR;
			goto out;
		}
	}
	r->body = sink.p;
	r->len = sink.len;
	sink.p = NULL;
	rc = TS_OK;
out:
	/* the body may hold a token: never leave a pointer to it in the handle */
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, NULL);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, NULL);
	if (sink.p) {
		secret_wipe(sink.p, sink.len);
		free(sink.p);
	}
	return rc;
}

void fetch_reply_free(struct fetch_reply *r)
{
	if (!r)
		return;
	if (r->body) {
		secret_wipe(r->body, r->len);
		free(r->body);
	}
	memset(r, 0, sizeof *r);
}

char *fetch_form_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s), i, o = 0;
	char *out = malloc(n * 3 + 1);
	unsigned char ch;

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		ch = (unsigned char)s[i];
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			out[o++] = (char)ch;
		} else if (ch == ' ') {
			out[o++] = '+';
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
	return out;
}
