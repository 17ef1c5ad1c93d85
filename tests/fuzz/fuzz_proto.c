/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drives the control-socket message decoder with arbitrary bytes: a
 * process in the sandbox cannot reach control.sock, but init's replies and
 * the CLI's requests are decoded by the same code.
 */
#include <stdint.h>
#include <string.h>

#include "sandbox/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct proto_msg m;

	if (size > sizeof(m.data))
		return 0;
	memcpy(m.data, data, size);
	if (proto_parse(&m, size) == 0) {
		for (size_t i = 0; i < m.nstrings; i++)
			(void)strlen(m.strings[i]);
	}
	return 0;
}
