/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server name a client asks for, read from the bytes it sends first,
 * without OpenSSL: the proxy checks it on tunnels it passes through
 * uninspected, so that a tunnel to one host cannot carry a TLS session
 * for another (domain fronting). The bytes come from inside the sandbox;
 * every length in them is checked.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * The largest ClientHello taken, as a handshake message; a record that
 * carries part of it must also begin within this many bytes. Real
 * clients send a few hundred bytes (up to about 2 KiB with post-quantum
 * key shares), in one record.
 */
#define TLS_PEEK_HELLO_MAX (16 * 1024)
/* A TLS record's payload, at most (RFC 8446, section 5.1). */
#define TLS_PEEK_RECORD_MAX (16 * 1024)
/* With this many bytes in hand, tls_peek_sni always answers. */
#define TLS_PEEK_INPUT_MAX (TLS_PEEK_HELLO_MAX + 5 + TLS_PEEK_RECORD_MAX)

/*
 * Reads the first len bytes a client sent on a connection. Returns:
 *
 *   1         they begin with a complete ClientHello holding a
 *             server_name extension: its name, as tls_sni_parse checks
 *             and copies it, is in out (TLS_HOST_MAX + 2 bytes suffice)
 *   0         they are not TLS (the first record is not a handshake
 *             record of major version 3), or the ClientHello has no
 *             server_name extension
 *   -EAGAIN   they are the start of a ClientHello: read more
 *   -EBADMSG  they claim to be TLS but are no well-formed ClientHello, or
 *             it passes TLS_PEEK_HELLO_MAX
 *   -ENOBUFS  outlen is too small for the name
 *
 * The ClientHello may span several handshake records. Bytes after it are
 * not looked at. A longer prefix of the same bytes never changes an
 * answer other than -EAGAIN, and from TLS_PEEK_INPUT_MAX bytes on the
 * answer is never -EAGAIN.
 */
int tls_peek_sni(const uint8_t *p, size_t len, char *out, size_t outlen);
