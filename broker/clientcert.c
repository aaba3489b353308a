/* clientcert.c - the broker enforces certificate-bound tokens (RFC 8705 §3): a token whose cnf
 * names a client certificate (x5t#S256) is accepted only from a connection that presented that
 * certificate. mosquitto hands the plugin a client's certificate only on a listener with
 * require_certificate true; on any other connection a bound token is refused, as a token copied
 * off a device must be. Unbound tokens are not looked at here. */
#include <jansson.h>
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "certbind.h"
#include "control.h"

int certbind_connection_ok(const struct mosquitto *client, const char *id, const json_t *claims)
{
	X509 *x;
	unsigned char *der = NULL;
	char x5t[CERTBIND_X5T_LEN + 1] = "";
	int len, ok;

	if (!json_object_get(json_object_get(claims, "cnf"), "x5t#S256"))
		return 1;
	x = mosquitto_client_certificate(client);
	if (x && (len = i2d_X509(x, &der)) > 0)
		certbind_x5t(der, (size_t)len, x5t);
	OPENSSL_free(der);
	X509_free(x);
	ok = certbind_ok(claims, *x5t ? x5t : NULL);
	if (!ok)
		mosquitto_log_printf(MOSQ_LOG_NOTICE, "tessera: refused %s: the token is bound to a "
		                     "TLS client certificate (cnf x5t#S256) and the connection %s", id,
		                     *x5t ? "presented another one" : "presented none (a listener "
		                     "with require_certificate true is needed)");
	return ok;
}
