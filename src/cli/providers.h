/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Provider types: the environment variables a kind of credential usually
 * lives in and the hosts it is meant for, and the parsing of the names and
 * hosts that "brig provider" is given.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

/* The most default keys or hosts one type lists. */
#define PROVIDER_TYPE_MAX 4

struct provider_type_host {
	const char *host;
	uint16_t port;
};

struct provider_type {
	const char *name;
	const char *alias; /* another name for it, or NULL */
	const char *summary;
	const char *keys[PROVIDER_TYPE_MAX]; /* NULL-terminated */
	struct provider_type_host hosts[PROVIDER_TYPE_MAX]; /* host NULL ends */
};

/* The types, in the order "brig provider types" lists them. */
const struct provider_type *provider_types(size_t *ret_n);
/* A type by its name or alias, or NULL. */
const struct provider_type *provider_type_find(const char *name);
/* Whether key is a usable environment variable name. */
bool provider_key_valid(const char *key);
/*
 * Parses HOST, HOST:PORT or [V6ADDR][:PORT] into ret (the host
 * lowercased, allocated; port 0 when none was given): 0 or -EINVAL.
 */
int provider_parse_host(const char *arg, struct store_host *ret);
/* Writes a host as provider_parse_host reads it. */
void provider_format_host(const struct store_host *h, char *out, size_t len);
