/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy loader: YAML bytes to a struct policy. It runs in two steps.
 * First libyaml's event stream becomes a small tree of nodes that remember
 * where they were written; anchors, aliases, tags, duplicate keys and
 * oversized collections are refused while the tree is built. Then the tree
 * is walked against tables of known keys, one table per mapping of the
 * schema, and every value is checked as it is copied into the model.
 */
#include "policy/policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "common/parse.h"
#include "common/util.h"

/* Deeper nesting than this is never a policy, only an attack on a stack. */
#define POLICY_MAX_DEPTH 32
#define POLICY_PATH_MAX 4096
#define POLICY_HOST_MAX 253

enum ykind {
	Y_SCALAR,
	Y_SEQ,
	Y_MAP,
};

/* A YAML node; a mapping keeps its keys and values alternating in kids. */
struct ynode {
	enum ykind kind;
	bool plain; /* an unquoted scalar, so it may be a number or a bool */
	unsigned line, column;
	char *str;
	struct ynode **kids;
	size_t n, cap;
};

struct ctx {
	struct policy_error *err;
	size_t npaths; /* read_only and read_write together */
};

static int fail(struct ctx *c, const struct ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct ctx *c, const struct ynode *n, const char *fmt, ...)
{
	va_list ap;

	c->err->line = n ? n->line : 0;
	c->err->column = n ? n->column : 0;
	va_start(ap, fmt);
	vsnprintf(c->err->message, sizeof(c->err->message), fmt, ap);
	va_end(ap);
	/* Messages quote the policy and end up on a terminal: no escapes. */
	for (char *p = c->err->message; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -EINVAL;
}

static int
fail_at(struct ctx *c, yaml_mark_t mark, const char *msg)
{
	struct ynode at = { .line = (unsigned)mark.line + 1,
			    .column = (unsigned)mark.column + 1 };

	return fail(c, &at, "%s", msg);
}

static void
node_free(struct ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

static struct ynode *
node_new(enum ykind kind, yaml_mark_t mark)
{
	struct ynode *n = xcalloc(1, sizeof(*n));

	n->kind = kind;
	n->line = (unsigned)mark.line + 1;
	n->column = (unsigned)mark.column + 1;
	return n;
}

static const struct ynode *
map_find(const struct ynode *map, const char *key)
{
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (streq(map->kids[i]->str, key))
			return map->kids[i];
	return NULL;
}

/*
 * Adds kid to parent. Keys must be scalars and unique: a policy that names
 * the same key twice has two meanings, and the reader may see the other one.
 */
static int
node_add(struct ctx *c, struct ynode *parent, struct ynode *kid)
{
	size_t limit =
	    parent->kind == Y_MAP ? 2 * POLICY_MAX_ENTRIES : POLICY_MAX_ENTRIES;

	if (parent->n >= limit)
		return fail(c, kid, "too many entries (at most %d)",
			    POLICY_MAX_ENTRIES);
	if (parent->kind == Y_MAP && parent->n % 2 == 0) {
		if (kid->kind != Y_SCALAR)
			return fail(c, kid, "mapping keys must be strings");
		if (map_find(parent, kid->str))
			return fail(c, kid, "duplicate key '%s'", kid->str);
	}
	if (parent->n == parent->cap) {
		parent->cap = parent->cap ? parent->cap * 2 : 8;
		parent->kids =
		    xrealloc(parent->kids, parent->cap * sizeof(*parent->kids));
	}
	parent->kids[parent->n++] = kid;
	return 0;
}

/* The tree under construction: open collections, innermost last. */
struct builder {
	struct ynode *stack[POLICY_MAX_DEPTH];
	size_t depth;
	struct ynode *root;
	bool seen_document;
};

static void
builder_free(struct builder *b)
{
	while (b->depth > 0)
		node_free(b->stack[--b->depth]);
	node_free(b->root);
	b->root = NULL;
}

static int
builder_attach(struct ctx *c, struct builder *b, struct ynode *n)
{
	int r;

	if (b->depth == 0) {
		b->root = n;
		return 0;
	}
	r = node_add(c, b->stack[b->depth - 1], n);
	if (r < 0)
		node_free(n);
	return r;
}

/*
 * Anchors and aliases are refused outright: a few aliases of aliases expand
 * into billions of nodes, and no policy needs them. Tags are refused too, so
 * that "!!str 443" cannot make a port look like text or the other way round.
 */
static int
check_node_props(struct ctx *c, const yaml_event_t *ev,
		 const yaml_char_t *anchor, const yaml_char_t *tag)
{
	if (anchor)
		return fail_at(c, ev->start_mark,
			       "YAML anchors and aliases are not allowed");
	if (tag)
		return fail_at(c, ev->start_mark, "YAML tags are not allowed");
	return 0;
}

static int
builder_scalar(struct ctx *c, struct builder *b, const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	struct ynode *n;
	int r;

	r = check_node_props(c, ev, ev->data.scalar.anchor,
			     ev->data.scalar.tag);
	if (r < 0)
		return r;
	/* A quoted "\0" puts a NUL into the value, where C strings end. */
	if (memchr(v, '\0', len))
		return fail_at(c, ev->start_mark, "NUL bytes are not allowed");
	n = node_new(Y_SCALAR, ev->start_mark);
	n->str = xstrndup(v, len);
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	return builder_attach(c, b, n);
}

static int
builder_open(struct ctx *c, struct builder *b, const yaml_event_t *ev,
	     enum ykind kind)
{
	const yaml_char_t *anchor = kind == Y_MAP
					? ev->data.mapping_start.anchor
					: ev->data.sequence_start.anchor;
	const yaml_char_t *tag = kind == Y_MAP ? ev->data.mapping_start.tag
					       : ev->data.sequence_start.tag;
	int r = check_node_props(c, ev, anchor, tag);

	if (r < 0)
		return r;
	if (b->depth == POLICY_MAX_DEPTH)
		return fail_at(c, ev->start_mark, "nesting is too deep");
	b->stack[b->depth++] = node_new(kind, ev->start_mark);
	return 0;
}

static int
builder_close(struct ctx *c, struct builder *b, const yaml_event_t *ev)
{
	struct ynode *n;

	/* libyaml pairs every end with its start; this keeps a stray end
	 * from reading below the stack. */
	if (b->depth == 0)
		return fail_at(c, ev->start_mark,
			       "malformed YAML: unpaired end");
	n = b->stack[--b->depth];
	return builder_attach(c, b, n);
}

static int
builder_event(struct ctx *c, struct builder *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (b->seen_document)
			return fail_at(c, ev->start_mark,
				       "only one YAML document is allowed");
		b->seen_document = true;
		return 0;
	case YAML_ALIAS_EVENT:
		return fail_at(c, ev->start_mark,
			       "YAML anchors and aliases are not allowed");
	case YAML_SCALAR_EVENT:
		return builder_scalar(c, b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return builder_open(c, b, ev, Y_SEQ);
	case YAML_MAPPING_START_EVENT:
		return builder_open(c, b, ev, Y_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return builder_close(c, b, ev);
	default:
		return 0;
	}
}

/* The 1-based line and column of byte off, for errors found before or
 * outside libyaml's own marks. */
static struct ynode
offset_place(const char *text, size_t off)
{
	struct ynode at = { .line = 1, .column = 1 };

	for (size_t i = 0; i < off; i++) {
		at.column++;
		if (text[i] == '\n') {
			at.line++;
			at.column = 1;
		}
	}
	return at;
}

static int
yaml_problem(struct ctx *c, const yaml_parser_t *p, const char *text)
{
	struct ynode at = { .line = (unsigned)p->problem_mark.line + 1,
			    .column = (unsigned)p->problem_mark.column + 1 };
	const char *problem = p->problem ? p->problem : "cannot be parsed";

	/* Reader errors (bad encoding) carry a byte offset, not a mark. */
	if (p->error == YAML_READER_ERROR)
		at = offset_place(text, p->problem_offset);
	if (p->context)
		return fail(c, &at, "malformed YAML: %s %s", problem,
			    p->context);
	return fail(c, &at, "malformed YAML: %s", problem);
}

static int
tree_load(struct ctx *c, const char *text, size_t len, struct ynode **ret)
{
	yaml_parser_t parser;
	struct builder b = { 0 };
	bool done = false;
	int r = 0;

	if (!yaml_parser_initialize(&parser))
		return fail(c, NULL, "cannot initialize the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (r == 0 && !done) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&parser, &ev)) {
			r = yaml_problem(c, &parser, text);
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		r = builder_event(c, &b, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	if (r < 0)
		builder_free(&b);
	*ret = TAKE_PTR(b.root);
	return r;
}

/* Plain "", "~" and "null" are YAML's null, which no field accepts. */
static bool
node_is_null(const struct ynode *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

	if (n->kind != Y_SCALAR || !n->plain)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(nulls); i++)
		if (streq(n->str, nulls[i]))
			return true;
	return false;
}

static int
want_kind(struct ctx *c, const struct ynode *n, enum ykind kind,
	  const char *key)
{
	static const char *const names[] = {
		[Y_SCALAR] = "a string",
		[Y_SEQ] = "a list",
		[Y_MAP] = "a mapping",
	};

	if (n->kind == kind && !node_is_null(n))
		return 0;
	return fail(c, n, "'%s' must be %s", key, names[kind]);
}

/* The same check for an entry of the list named key. */
static int
want_entry(struct ctx *c, const struct ynode *n, enum ykind kind,
	   const char *key)
{
	static const char *const names[] = {
		[Y_SCALAR] = "strings",
		[Y_SEQ] = "lists",
		[Y_MAP] = "mappings",
	};

	if (n->kind == kind && !node_is_null(n))
		return 0;
	return fail(c, n, "'%s' entries must be %s", key, names[kind]);
}

static int
want_uint(struct ctx *c, const struct ynode *n, const char *key, uint64_t min,
	  uint64_t max, uint64_t *ret)
{
	bool negative;
	int r;

	/* Only scalars have a str: check the kind before touching it. */
	if (n->kind != Y_SCALAR || !n->plain)
		return fail(c, n, "'%s' must be an integer", key);
	negative = n->str[0] == '-';
	r = parse_u64(n->str + (negative || n->str[0] == '+'), min, max, ret);
	if (r == -ERANGE || (r == 0 && negative))
		return fail(c, n, "'%s' must be between %llu and %llu", key,
			    (unsigned long long)min, (unsigned long long)max);
	if (r < 0)
		return fail(c, n, "'%s' must be an integer", key);
	return 0;
}

static int
want_bool(struct ctx *c, const struct ynode *n, const char *key, bool *ret)
{
	static const char *const yes[] = { "true", "True", "TRUE" };
	static const char *const no[] = { "false", "False", "FALSE" };

	for (size_t i = 0;
	     n->kind == Y_SCALAR && n->plain && i < ARRAY_SIZE(yes); i++) {
		if (streq(n->str, yes[i]) || streq(n->str, no[i])) {
			*ret = streq(n->str, yes[i]);
			return 0;
		}
	}
	return fail(c, n, "'%s' must be true or false", key);
}

/*
 * The schema as tables. Each mapping of the policy has a table of the keys
 * it may hold; a key not in it is refused, so a typo never silently drops a
 * restriction.
 */
struct field;
typedef int field_fn(struct ctx *c, const struct field *f,
		     const struct ynode *v, void *obj);

struct word {
	const char *s;
	int v;
};

struct field {
	const char *key;
	field_fn *parse;
	size_t off;
	const struct word *words;
	size_t nwords;
};

#define FIELD(k, fn)                      \
	{                                 \
		.key = (k), .parse = (fn) \
	}
/*
 * Keys of OpenShell's schema whose meaning brig does not implement (GraphQL,
 * MCP and JSON-RPC inspection, AWS signing, middleware). Ignoring them would
 * quietly drop a restriction, so they are refused by name.
 */
#define FIELD_UNSUPPORTED(k)              \
	{                                 \
		.key = (k), .parse = NULL \
	}
#define FIELD_AT(k, fn, type, member)                                    \
	{                                                                \
		.key = (k), .parse = (fn), .off = offsetof(type, member) \
	}
#define FIELD_WORD(k, type, member, w)                       \
	{                                                    \
		.key = (k), .parse = field_word,             \
		.off = offsetof(type, member), .words = (w), \
		.nwords = ARRAY_SIZE(w)                      \
	}

static int
walk_map(struct ctx *c, const struct ynode *n, const char *key,
	 const struct field *fields, size_t nfields, void *obj)
{
	int r = want_kind(c, n, Y_MAP, key);

	for (size_t i = 0; r == 0 && i < n->n; i += 2) {
		const struct ynode *k = n->kids[i];
		const struct field *f = NULL;

		for (size_t j = 0; j < nfields && !f; j++)
			if (streq(fields[j].key, k->str))
				f = &fields[j];
		if (!f)
			return fail(c, k, "unknown key '%s'", k->str);
		if (!f->parse)
			return fail(c, k, "'%s' is not supported by brig",
				    k->str);
		r = f->parse(c, f, n->kids[i + 1], obj);
	}
	return r;
}

static void *
field_ptr(const struct field *f, void *obj)
{
	return (char *)obj + f->off;
}

static int
field_bool(struct ctx *c, const struct field *f, const struct ynode *v,
	   void *obj)
{
	return want_bool(c, v, f->key, field_ptr(f, obj));
}

/* OpenShell keeps some keys only so that old files load; their value is
 * checked and dropped. */
static int
field_ignored_bool(struct ctx *c, const struct field *f, const struct ynode *v,
		   void *obj)
{
	bool unused;

	return want_bool(c, v, f->key, &unused);
}

static int
field_str(struct ctx *c, const struct field *f, const struct ynode *v,
	  void *obj)
{
	char **p = field_ptr(f, obj);
	int r = want_kind(c, v, Y_SCALAR, f->key);

	if (r == 0)
		*p = xstrdup(v->str);
	return r;
}

static int
field_word(struct ctx *c, const struct field *f, const struct ynode *v,
	   void *obj)
{
	char expect[128] = "";
	int r = want_kind(c, v, Y_SCALAR, f->key);

	for (size_t i = 0; r == 0 && i < f->nwords; i++) {
		size_t used = strlen(expect);

		if (streq(v->str, f->words[i].s)) {
			*(int *)field_ptr(f, obj) = f->words[i].v;
			return 0;
		}
		snprintf(expect + used, sizeof(expect) - used, "%s%s",
			 i ? ", " : "", f->words[i].s);
	}
	if (r < 0)
		return r;
	return fail(c, v, "unknown %s '%s' (expected %s)", f->key, v->str,
		    expect);
}

/* Absolute, no "..", not too long: the same rule for mounts and binaries. */
static int
check_path(struct ctx *c, const struct ynode *n)
{
	const char *s = n->str;
	size_t len = strlen(s);

	if (s[0] != '/')
		return fail(c, n, "path '%s' is not absolute", s);
	if (len > POLICY_PATH_MAX)
		return fail(c, n, "path is longer than %d bytes",
			    POLICY_PATH_MAX);
	for (const char *p = s; p; p = strchr(p + 1, '/')) {
		size_t seg = strcspn(p + 1, "/");

		if (seg == 2 && p[1] == '.' && p[2] == '.')
			return fail(c, n, "path '%s' contains '..'", s);
	}
	return 0;
}

/* Whether path names the root however it is spelt ("/", "//", "/./"). */
static bool
path_is_root(const char *s)
{
	for (; *s; s++)
		if (*s != '/' && !(*s == '.' && (s[1] == '/' || !s[1])))
			return false;
	return true;
}

static int
field_paths(struct ctx *c, const struct field *f, const struct ynode *v,
	    void *obj)
{
	struct policy_strv *sv = field_ptr(f, obj);
	int r = want_kind(c, v, Y_SEQ, f->key);

	if (r == 0 && v->n > POLICY_MAX_PATHS - c->npaths)
		return fail(c, v, "too many paths (at most %d)",
			    POLICY_MAX_PATHS);
	if (r < 0)
		return r;
	c->npaths += v->n;
	sv->v = xcalloc(v->n, sizeof(*sv->v));
	sv->n = v->n;
	for (size_t i = 0; i < v->n; i++) {
		const struct ynode *e = v->kids[i];

		r = want_entry(c, e, Y_SCALAR, f->key);
		if (r == 0)
			r = check_path(c, e);
		if (r == 0 && streq(f->key, "read_write") &&
		    path_is_root(e->str))
			r = fail(c, e, "read_write must not contain '/'");
		if (r < 0)
			return r;
		sv->v[i] = xstrdup(e->str);
	}
	return 0;
}

static const struct field filesystem_fields[] = {
	FIELD_AT("include_workdir", field_bool, struct policy, include_workdir),
	FIELD_AT("read_only", field_paths, struct policy, read_only),
	FIELD_AT("read_write", field_paths, struct policy, read_write),
};

static int
field_filesystem(struct ctx *c, const struct field *f, const struct ynode *v,
		 void *obj)
{
	struct policy *p = obj;

	/* A policy that writes the section says what it wants: nothing is
	 * added to it, and include_workdir is off unless it is asked for. */
	p->include_workdir = false;
	return walk_map(c, v, f->key, filesystem_fields,
			ARRAY_SIZE(filesystem_fields), p);
}

static const struct word landlock_words[] = {
	{ "best_effort", POLICY_LANDLOCK_BEST_EFFORT },
	{ "hard_requirement", POLICY_LANDLOCK_HARD_REQUIREMENT },
};

_Static_assert(sizeof(enum policy_landlock) == sizeof(int), "enum size");
_Static_assert(sizeof(enum policy_tls) == sizeof(int), "enum size");
_Static_assert(sizeof(enum policy_enforcement) == sizeof(int), "enum size");
_Static_assert(sizeof(enum policy_access) == sizeof(int), "enum size");

static const struct field landlock_fields[] = {
	FIELD_WORD("compatibility", struct policy, landlock, landlock_words),
};

static int
field_landlock(struct ctx *c, const struct field *f, const struct ynode *v,
	       void *obj)
{
	return walk_map(c, v, f->key, landlock_fields,
			ARRAY_SIZE(landlock_fields), obj);
}

/* "sandbox" or a numeric id; never root, by name or by number. */
static int
field_id(struct ctx *c, const struct field *f, const struct ynode *v, void *obj)
{
	uint32_t *id = field_ptr(f, obj);
	uint64_t u;

	if (v->kind == Y_SCALAR && streq(v->str, "sandbox")) {
		*id = POLICY_SANDBOX_ID;
		return 0;
	}
	if (v->kind == Y_SCALAR && streq(v->str, "root"))
		return fail(c, v, "'%s' must not be root", f->key);
	if (v->kind != Y_SCALAR || parse_u64(v->str, 0, UINT32_MAX - 1, &u))
		return fail(c, v, "'%s' must be 'sandbox' or a numeric id",
			    f->key);
	if (u == 0)
		return fail(c, v, "'%s' must not be root", f->key);
	*id = (uint32_t)u;
	return 0;
}

_Static_assert(sizeof(uid_t) == sizeof(uint32_t), "uid_t size");
_Static_assert(sizeof(gid_t) == sizeof(uint32_t), "gid_t size");

static const struct field process_fields[] = {
	FIELD_AT("run_as_user", field_id, struct policy, run_as_user),
	FIELD_AT("run_as_group", field_id, struct policy, run_as_group),
};

static int
field_process(struct ctx *c, const struct field *f, const struct ynode *v,
	      void *obj)
{
	return walk_map(c, v, f->key, process_fields,
			ARRAY_SIZE(process_fields), obj);
}

/*
 * Host patterns follow OpenShell: "*" may stand inside the first label or
 * for a whole later label, "**" only for the whole first label, and a
 * wildcard needs at least three labels so that "*.com" cannot be written.
 */
static int
check_host_label(struct ctx *c, const struct ynode *n, const char *h,
		 const char *l, size_t len, size_t index)
{
	if (len == 0)
		return fail(c, n, "host '%s' has an empty label", h);
	if (index > 0 && memchr(l, '*', len) && len != 1)
		return fail(c, n, "host '%s': '*' must be a whole label", h);
	if (memmem(l, len, "**", 2) && (index > 0 || len != 2))
		return fail(c, n,
			    "host '%s': '**' must be the whole first label", h);
	return 0;
}

static int
check_host_labels(struct ctx *c, const struct ynode *n, const char *h)
{
	size_t nlabels = 0;
	const char *l = h;
	int r;

	for (;;) {
		size_t len = strcspn(l, ".");

		r = check_host_label(c, n, h, l, len, nlabels++);
		if (r < 0 || !l[len])
			break;
		l += len + 1;
	}
	if (r == 0 && strchr(h, '*') && nlabels < 3)
		return fail(
		    c, n, "wildcard host '%s' needs at least three labels", h);
	return r;
}

static int
check_host(struct ctx *c, const struct ynode *n, char *h)
{
	unsigned char addr[16];

	for (char *p = h; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!*h)
		return fail(c, n, "'host' must not be empty");
	if (streq(h, "*") || streq(h, "**"))
		return fail(c, n, "host '%s' would match every host", h);
	if (strlen(h) > POLICY_HOST_MAX)
		return fail(c, n, "host is longer than %d characters",
			    POLICY_HOST_MAX);
	if (inet_pton(AF_INET, h, addr) == 1 ||
	    inet_pton(AF_INET6, h, addr) == 1)
		return 0;
	if (h[strspn(h, "abcdefghijklmnopqrstuvwxyz0123456789-_.*")])
		return fail(c, n, "host '%s' is not a host name", h);
	return check_host_labels(c, n, h);
}

static int
field_host(struct ctx *c, const struct field *f, const struct ynode *v,
	   void *obj)
{
	struct policy_endpoint *e = obj;
	int r = want_kind(c, v, Y_SCALAR, f->key);

	if (r < 0)
		return r;
	e->host = xstrdup(v->str);
	return check_host(c, v, e->host);
}

static int
field_port(struct ctx *c, const struct field *f, const struct ynode *v,
	   void *obj)
{
	struct policy_endpoint *e = obj;
	uint64_t port;
	int r;

	if (e->ports)
		return fail(c, v, "'port' and 'ports' cannot both be set");
	r = want_uint(c, v, f->key, 1, 65535, &port);
	if (r < 0)
		return r;
	e->ports = xcalloc(1, sizeof(*e->ports));
	e->ports[0] = (uint16_t)port;
	e->nports = 1;
	return 0;
}

static int
field_ports(struct ctx *c, const struct field *f, const struct ynode *v,
	    void *obj)
{
	struct policy_endpoint *e = obj;
	int r = want_kind(c, v, Y_SEQ, f->key);

	if (r == 0 && e->ports)
		return fail(c, v, "'port' and 'ports' cannot both be set");
	if (r < 0)
		return r;
	e->ports = xcalloc(v->n, sizeof(*e->ports));
	e->nports = v->n;
	for (size_t i = 0; i < v->n; i++) {
		uint64_t port = 0;

		r = want_uint(c, v->kids[i], "port", 1, 65535, &port);
		if (r < 0)
			return r;
		e->ports[i] = (uint16_t)port;
	}
	return 0;
}

/*
 * Destinations a policy may never open up: the sandbox's own loopback, the
 * link-local range that holds cloud metadata services, and the unspecified
 * address, in IPv4, IPv6 and IPv4-mapped IPv6 form.
 */
static const struct blocked_range {
	struct policy_cidr cidr;
	const char *what;
} blocked_ranges[] = {
	{ { AF_INET, { 127 }, 8 }, "loopback" },
	{ { AF_INET, { 169, 254 }, 16 }, "link-local" },
	{ { AF_INET, { 0 }, 32 }, "0.0.0.0" },
	{ { AF_INET6, { [15] = 1 }, 128 }, "loopback" },
	{ { AF_INET6, { 0xfe, 0x80 }, 10 }, "link-local" },
	{ { AF_INET6, { 0 }, 128 }, "::" },
	{ { AF_INET6, { [10] = 0xff, 0xff, 127 }, 104 }, "loopback" },
	{ { AF_INET6, { [10] = 0xff, 0xff, 169, 254 }, 112 }, "link-local" },
	{ { AF_INET6, { [10] = 0xff, 0xff, 0, 0, 0, 0 }, 128 }, "0.0.0.0" },
};

/* Two ranges overlap when they agree on the shorter prefix. */
static bool
cidr_overlaps(const struct policy_cidr *a, const struct policy_cidr *b)
{
	unsigned bits = a->prefix < b->prefix ? a->prefix : b->prefix;
	unsigned bytes = bits / 8, rest = bits % 8;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));

	if (a->family != b->family || memcmp(a->addr, b->addr, bytes) != 0)
		return false;
	return rest == 0 || ((a->addr[bytes] ^ b->addr[bytes]) & mask) == 0;
}

/* Parses "addr" or "addr/prefix"; host bits below the prefix are cleared. */
static int
cidr_parse(const char *s, struct policy_cidr *ret)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t prefix;

	if (len >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, len);
	addr[len] = '\0';
	ret->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(ret->family, addr, ret->addr) != 1)
		return -EINVAL;
	prefix = ret->family == AF_INET ? 32 : 128;
	if (slash && parse_u64(slash + 1, 0, prefix, &prefix) < 0)
		return -EINVAL;
	ret->prefix = (uint8_t)prefix;
	for (unsigned bit = ret->prefix; bit < 128; bit++)
		ret->addr[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
	return 0;
}

static int
check_allowed_ip(struct ctx *c, const struct ynode *n, struct policy_cidr *cidr)
{
	if (cidr_parse(n->str, cidr) < 0)
		return fail(c, n, "'%s' is not an IP address or CIDR range",
			    n->str);
	for (size_t i = 0; i < ARRAY_SIZE(blocked_ranges); i++)
		if (cidr_overlaps(cidr, &blocked_ranges[i].cidr))
			return fail(c, n, "allowed_ips entry '%s' overlaps %s",
				    n->str, blocked_ranges[i].what);
	return 0;
}

static int
field_allowed_ips(struct ctx *c, const struct field *f, const struct ynode *v,
		  void *obj)
{
	struct policy_endpoint *e = obj;
	int r = want_kind(c, v, Y_SEQ, f->key);

	if (r < 0)
		return r;
	e->allowed_ips = xcalloc(v->n, sizeof(*e->allowed_ips));
	e->nallowed_ips = v->n;
	for (size_t i = 0; i < v->n && r == 0; i++) {
		r = want_entry(c, v->kids[i], Y_SCALAR, f->key);
		if (r == 0)
			r = check_allowed_ip(c, v->kids[i], &e->allowed_ips[i]);
	}
	return r;
}

static int
field_any(struct ctx *c, const struct field *f, const struct ynode *v,
	  void *obj)
{
	struct policy_strv *sv = obj;
	int r = want_kind(c, v, Y_SEQ, f->key);

	if (r == 0 && v->n == 0)
		return fail(c, v, "'any' must not be empty");
	if (r < 0)
		return r;
	sv->v = xcalloc(v->n, sizeof(*sv->v));
	sv->n = v->n;
	for (size_t i = 0; i < v->n && r == 0; i++) {
		r = want_entry(c, v->kids[i], Y_SCALAR, f->key);
		if (r == 0)
			sv->v[i] = xstrdup(v->kids[i]->str);
	}
	return r;
}

static const struct field any_fields[] = {
	FIELD("any", field_any),
};

/* A query matcher is a glob, or { any: [globs] } for several. */
static int
query_parse(struct ctx *c, const struct ynode *k, const struct ynode *v,
	    struct policy_query *q)
{
	q->key = xstrdup(k->str);
	if (v->kind == Y_SCALAR && !node_is_null(v)) {
		q->value = xstrdup(v->str);
		return 0;
	}
	if (v->kind != Y_MAP || !map_find(v, "any"))
		return fail(c, v, "query '%s' must be a glob or { any: [...] }",
			    k->str);
	return walk_map(c, v, k->str, any_fields, ARRAY_SIZE(any_fields),
			&q->any);
}

static int
field_query(struct ctx *c, const struct field *f, const struct ynode *v,
	    void *obj)
{
	struct policy_rule *rule = obj;
	int r = want_kind(c, v, Y_MAP, f->key);

	if (r < 0)
		return r;
	rule->query = xcalloc(v->n / 2, sizeof(*rule->query));
	rule->nquery = v->n / 2;
	for (size_t i = 0; i < rule->nquery && r == 0; i++)
		r = query_parse(c, v->kids[2 * i], v->kids[2 * i + 1],
				&rule->query[i]);
	return r;
}

static const struct field matcher_fields[] = {
	FIELD_AT("method", field_str, struct policy_rule, method),
	FIELD_AT("path", field_str, struct policy_rule, path),
	FIELD("query", field_query),
	FIELD_UNSUPPORTED("command"),
	FIELD_UNSUPPORTED("operation_type"),
	FIELD_UNSUPPORTED("operation_name"),
	FIELD_UNSUPPORTED("fields"),
	FIELD_UNSUPPORTED("tool"),
	FIELD_UNSUPPORTED("params"),
};

/* An empty matcher matches every request, which no one writes on purpose. */
static int
field_matcher(struct ctx *c, const struct field *f, const struct ynode *v,
	      void *obj)
{
	struct policy_rule *rule = obj;
	int r = walk_map(c, v, f->key, matcher_fields,
			 ARRAY_SIZE(matcher_fields), rule);

	if (r == 0 && !rule->method && !rule->path && !rule->nquery)
		return fail(c, v, "'%s' needs 'method', 'path' or 'query'",
			    f->key);
	return r;
}

static const struct field allow_fields[] = {
	FIELD("allow", field_matcher),
};

static const struct field deny_fields[] = {
	FIELD("deny", field_matcher),
};

/*
 * OpenShell writes deny rules as bare matchers; { deny: {...} }, the mirror
 * of rules[].allow, is accepted too.
 */
static int
rule_parse(struct ctx *c, const struct ynode *n, bool deny,
	   struct policy_rule *rule)
{
	static const struct field bare = FIELD("deny_rules", field_matcher);
	const char *key = deny ? "deny_rules" : "rules";
	int r = want_entry(c, n, Y_MAP, key);

	if (r < 0)
		return r;
	if (deny && !map_find(n, "deny"))
		return field_matcher(c, &bare, n, rule);
	r = walk_map(c, n, key, deny ? deny_fields : allow_fields, 1, rule);
	if (r == 0 && n->n == 0)
		return fail(c, n, "a rule needs '%s'", deny ? "deny" : "allow");
	return r;
}

static int
field_rules(struct ctx *c, const struct field *f, const struct ynode *v,
	    void *obj)
{
	struct policy_endpoint *e = obj;
	bool deny = streq(f->key, "deny_rules");
	struct policy_rule **rules = deny ? &e->deny_rules : &e->rules;
	size_t *n = deny ? &e->ndeny_rules : &e->nrules;
	int r = want_kind(c, v, Y_SEQ, f->key);

	if (r < 0)
		return r;
	*rules = xcalloc(v->n, sizeof(**rules));
	*n = v->n;
	for (size_t i = 0; i < v->n && r == 0; i++)
		r = rule_parse(c, v->kids[i], deny, &(*rules)[i]);
	return r;
}

static const struct word tls_words[] = {
	{ "terminate", POLICY_TLS_TERMINATE },
	{ "skip", POLICY_TLS_SKIP },
	{ "passthrough", POLICY_TLS_PASSTHROUGH },
};

static const struct word enforcement_words[] = {
	{ "enforce", POLICY_ENFORCE },
	{ "audit", POLICY_AUDIT },
};

static const struct word access_words[] = {
	{ "read-only", POLICY_ACCESS_READ_ONLY },
	{ "read-write", POLICY_ACCESS_READ_WRITE },
	{ "full", POLICY_ACCESS_FULL },
};

#define EP struct policy_endpoint
static const struct field endpoint_fields[] = {
	FIELD("host", field_host),
	FIELD("port", field_port),
	FIELD("ports", field_ports),
	FIELD("allowed_ips", field_allowed_ips),
	FIELD_AT("path", field_str, EP, path),
	FIELD_AT("protocol", field_str, EP, protocol),
	FIELD_WORD("tls", EP, tls, tls_words),
	FIELD_WORD("enforcement", EP, enforcement, enforcement_words),
	FIELD_WORD("access", EP, access, access_words),
	FIELD("rules", field_rules),
	FIELD("deny_rules", field_rules),
	FIELD_AT("allow_encoded_slash", field_bool, EP, allow_encoded_slash),
	FIELD_AT("request_body_credential_rewrite", field_bool, EP,
		 request_body_credential_rewrite),
	FIELD_AT("websocket_credential_rewrite", field_bool, EP,
		 websocket_credential_rewrite),
	FIELD_AT("allow_uninspected_credentials", field_bool, EP,
		 allow_uninspected_credentials),
	FIELD_UNSUPPORTED("credential_binding"),
	FIELD_UNSUPPORTED("credential_signing"),
	FIELD_UNSUPPORTED("signing_service"),
	FIELD_UNSUPPORTED("signing_region"),
	FIELD_UNSUPPORTED("persisted_queries"),
	FIELD_UNSUPPORTED("graphql_persisted_queries"),
	FIELD_UNSUPPORTED("graphql_max_body_bytes"),
	FIELD_UNSUPPORTED("json_rpc"),
	FIELD_UNSUPPORTED("mcp"),
};
#undef EP

/* Rules that involve more than one key of an endpoint. */
static int
endpoint_check(struct ctx *c, const struct ynode *n,
	       const struct policy_endpoint *e)
{
	if (e->access != POLICY_ACCESS_UNSET && e->nrules > 0)
		return fail(c, map_find(n, "access"),
			    "'access' cannot be combined with 'rules'");
	if (!e->host && e->nallowed_ips == 0)
		return fail(c, n, "an endpoint needs 'host' or 'allowed_ips'");
	if (e->nports == 0)
		return fail(c, n, "an endpoint needs 'port' or 'ports'");
	return 0;
}

static int
endpoint_parse(struct ctx *c, const struct ynode *n, struct policy_endpoint *e)
{
	int r = want_entry(c, n, Y_MAP, "endpoints");

	e->line = n->line;
	e->column = n->column;
	if (r == 0)
		r = walk_map(c, n, "endpoints", endpoint_fields,
			     ARRAY_SIZE(endpoint_fields), e);
	return r < 0 ? r : endpoint_check(c, n, e);
}

static int
field_endpoints(struct ctx *c, const struct field *f, const struct ynode *v,
		void *obj)
{
	struct policy_network *net = obj;
	int r = want_kind(c, v, Y_SEQ, f->key);

	if (r < 0)
		return r;
	net->endpoints = xcalloc(v->n, sizeof(*net->endpoints));
	net->nendpoints = v->n;
	for (size_t i = 0; i < v->n && r == 0; i++)
		r = endpoint_parse(c, v->kids[i], &net->endpoints[i]);
	return r;
}

static int
field_binary_path(struct ctx *c, const struct field *f, const struct ynode *v,
		  void *obj)
{
	struct policy_binary *b = obj;
	int r = want_kind(c, v, Y_SCALAR, f->key);

	if (r == 0)
		r = check_path(c, v);
	if (r == 0)
		b->path = xstrdup(v->str);
	return r;
}

static const struct field binary_fields[] = {
	FIELD("path", field_binary_path),
	FIELD("harness", field_ignored_bool), /* deprecated by OpenShell */
};

static int
field_binaries(struct ctx *c, const struct field *f, const struct ynode *v,
	       void *obj)
{
	struct policy_network *net = obj;
	int r = want_kind(c, v, Y_SEQ, f->key);

	if (r < 0)
		return r;
	net->binaries = xcalloc(v->n, sizeof(*net->binaries));
	net->nbinaries = v->n;
	for (size_t i = 0; i < v->n && r == 0; i++) {
		r = want_entry(c, v->kids[i], Y_MAP, f->key);
		if (r == 0)
			r = walk_map(c, v->kids[i], f->key, binary_fields,
				     ARRAY_SIZE(binary_fields),
				     &net->binaries[i]);
		if (r == 0 && !net->binaries[i].path)
			r = fail(c, v->kids[i], "a binary needs 'path'");
	}
	return r;
}

static const struct field network_fields[] = {
	FIELD_AT("name", field_str, struct policy_network, name),
	FIELD("endpoints", field_endpoints),
	FIELD("binaries", field_binaries),
};

/* OpenShell reserves this prefix for rules that providers contribute. */
#define PROVIDER_PREFIX "_provider_"

static int
network_parse(struct ctx *c, const struct ynode *k, const struct ynode *v,
	      struct policy_network *net)
{
	int r;

	net->key = xstrdup(k->str);
	if (strncmp(k->str, PROVIDER_PREFIX, strlen(PROVIDER_PREFIX)) == 0)
		return fail(c, k,
			    "network policy names must not start with '%s'",
			    PROVIDER_PREFIX);
	if (!*k->str)
		return fail(c, k, "network policy names must not be empty");
	r = walk_map(c, v, k->str, network_fields, ARRAY_SIZE(network_fields),
		     net);
	if (r == 0 && (!net->name || !*net->name)) {
		free(net->name);
		net->name = xstrdup(net->key);
	}
	return r;
}

static int
field_networks(struct ctx *c, const struct field *f, const struct ynode *v,
	       void *obj)
{
	struct policy *p = obj;
	int r = want_kind(c, v, Y_MAP, f->key);

	if (r < 0)
		return r;
	p->networks = xcalloc(v->n / 2, sizeof(*p->networks));
	p->nnetworks = v->n / 2;
	for (size_t i = 0; i < p->nnetworks && r == 0; i++)
		r = network_parse(c, v->kids[2 * i], v->kids[2 * i + 1],
				  &p->networks[i]);
	return r;
}

static int
field_version(struct ctx *c, const struct field *f, const struct ynode *v,
	      void *obj)
{
	uint64_t version = 0;
	int r = want_uint(c, v, f->key, 0, UINT32_MAX, &version);

	if (r == 0 && version != 1)
		return fail(c, v, "'version' must be 1");
	return r;
}

static const struct field root_fields[] = {
	FIELD("version", field_version),
	FIELD("filesystem_policy", field_filesystem),
	FIELD("landlock", field_landlock),
	FIELD("process", field_process),
	FIELD("network_policies", field_networks),
	FIELD_UNSUPPORTED("network_middlewares"),
};

/* The default table of DESIGN.md section 7, used when filesystem_policy is
 * absent; policy_default_text() spells out the same. */
static const char *const default_read_only[] = {
	"/usr", "/lib", "/proc", "/dev/urandom", "/app", "/etc", "/var/log",
};
static const char *const default_read_write[] = {
	"/sandbox",
	"/tmp",
	"/dev/null",
};

static void
strv_fill(struct policy_strv *sv, const char *const *v, size_t n)
{
	sv->v = xcalloc(n, sizeof(*sv->v));
	sv->n = n;
	for (size_t i = 0; i < n; i++)
		sv->v[i] = xstrdup(v[i]);
}

static int
policy_build(struct ctx *c, const struct ynode *root, struct policy *p)
{
	int r;

	if (root->kind != Y_MAP)
		return fail(c, root, "the policy must be a mapping");
	p->include_workdir = true;
	p->run_as_user = POLICY_SANDBOX_ID;
	p->run_as_group = POLICY_SANDBOX_ID;
	r = walk_map(c, root, "policy", root_fields, ARRAY_SIZE(root_fields),
		     p);
	if (r < 0)
		return r;
	if (!map_find(root, "version"))
		return fail(c, root, "missing 'version' (must be 1)");
	if (!map_find(root, "filesystem_policy")) {
		strv_fill(&p->read_only, default_read_only,
			  ARRAY_SIZE(default_read_only));
		strv_fill(&p->read_write, default_read_write,
			  ARRAY_SIZE(default_read_write));
	}
	return 0;
}

/* Refusals that need no parser: the size cap and NUL bytes. */
static int
check_bytes(struct ctx *c, const char *text, size_t len)
{
	const char *nul;
	struct ynode at;

	if (len > POLICY_MAX_BYTES)
		return fail(c, NULL, "policy is larger than %d bytes",
			    POLICY_MAX_BYTES);
	nul = memchr(text, '\0', len);
	if (!nul)
		return 0;
	at = offset_place(text, (size_t)(nul - text));
	return fail(c, &at, "NUL bytes are not allowed");
}

int
policy_parse(const char *text, size_t len, struct policy **ret,
	     struct policy_error *err)
{
	struct policy_error unused;
	struct ctx c = { .err = err ? err : &unused };
	struct ynode *root = NULL;
	struct policy *p;
	int r;

	*ret = NULL;
	memset(c.err, 0, sizeof(*c.err));
	r = check_bytes(&c, text, len);
	if (r < 0)
		return r;
	r = tree_load(&c, text, len, &root);
	if (r < 0)
		return r;
	if (!root)
		return fail(&c, NULL, "the policy is empty");
	p = xcalloc(1, sizeof(*p));
	r = policy_build(&c, root, p);
	node_free(root);
	if (r < 0) {
		policy_free(p);
		return r;
	}
	*ret = p;
	return 0;
}
