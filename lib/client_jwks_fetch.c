/* client_jwks_fetch.c - GET a client's jwks_uri with libcurl (client_jwks.h): https only, no
 * redirects, no proxy from the environment, peers verified, bounded in time and size. A fetch
 * runs in the request thread that needs it; CLIENT_JWKS_FETCH_TIMEOUT bounds how long. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "client_jwks.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_rc = CURLE_FAILED_INIT;
static char *ca_file;

static void curl_init(void)
{
	curl_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void client_jwks_set_ca_file(const char *path)
{
	free(ca_file);
	ca_file = path ? strdup(path) : NULL;
}

struct sink {
	char *p;
	size_t len;
	int too_large;
};

static size_t sink_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;
	char *p;

	if (n > CLIENT_JWKS_MAX_TEXT - s->len) {
		s->too_large = 1;
		return 0;
	}
	p = realloc(s->p, s->len + n + 1);
	if (!p)
		return 0;
	s->p = p;
	memcpy(p + s->len, data, n);
	s->len += n;
	p[s->len] = '\0';
	return n;
}

ts_err client_jwks_fetch(const char *uri, char **body, size_t *len, const char **why)
{
	struct sink sink = {0};
	CURL *c;
	CURLcode cc;
	long status = 0;
	int bad = 0;
	ts_err rc = TS_UNAVAILABLE;

	*body = NULL;
	*len = 0;
	if (client_jwks_uri_problem(uri)) {
		*why = "the jwks_uri is not an https URL";
		return TS_UNAVAILABLE;
	}
	pthread_once(&curl_once, curl_init);
	if (curl_rc != CURLE_OK || !(c = curl_easy_init())) {
		*why = "libcurl failed to initialise";
		return TS_SERVER_ERROR;
	}
	bad |= curl_easy_setopt(c, CURLOPT_URL, uri) != CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
	bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK;
#else
	bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS) != CURLE_OK;
#endif
	bad |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)CLIENT_JWKS_FETCH_TIMEOUT) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)CLIENT_JWKS_FETCH_TIMEOUT) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	                        (curl_off_t)CLIENT_JWKS_MAX_TEXT) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_USERAGENT, "tessera") != CURLE_OK;
	if (ca_file)
		bad |= curl_easy_setopt(c, CURLOPT_CAINFO, ca_file) != CURLE_OK;
	if (bad) {
		*why = "libcurl refused an option";
		rc = TS_SERVER_ERROR;
		goto out;
	}
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		*why = sink.too_large || cc == CURLE_FILESIZE_EXCEEDED ? "the JWK Set is over 64 KiB" :
		       cc == CURLE_OPERATION_TIMEDOUT ? "no answer within the fetch timeout" :
		       cc == CURLE_PEER_FAILED_VERIFICATION ? "the TLS certificate did not verify" :
		       "the request failed";
		goto out;
	}
	if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200) {
		*why = "the answer's status is not 200";
		goto out;
	}
	if (!sink.p) {
		*why = "the answer is empty";
		goto out;
	}
	*body = sink.p;
	*len = sink.len;
	sink.p = NULL;
	rc = TS_OK;
out:
	free(sink.p);
	curl_easy_cleanup(c);
	return rc;
}
