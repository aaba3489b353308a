/* p256.h - the order of the P-256 group, for the low-s form of ES256 signatures.
 *
 * An ECDSA signature (r, s) verifies just as well as (r, n - s), so anyone holding a token can
 * make a second string for it. Tessera signs with s <= n/2 only (p256_low_s) and refuses the
 * other form in the tokens it issued (p256_s_is_high), so each token has one spelling. */
#ifndef TESSERA_P256_H
#define TESSERA_P256_H

/* 1 when the 32-byte big-endian s is above n/2 (the high form), else 0. */
int p256_s_is_high(const unsigned char s[32]);

/* Replaces a high s by n - s (in place); a low s is left alone. */
void p256_low_s(unsigned char s[32]);

#endif
