/*
 * tlgen: reads TL schemas and writes the C structs and descriptor tables that the
 * generic codec in libtgbotapi/tl/ walks.
 *
 *   tlgen structs NAME LAYER OUT.h OUT.c SCHEMA.tl...
 *       one schema with C structs (the layer we speak): tl_<ctor> structs, TL_ID_*,
 *       TL_W_* / TL_B_* flag macros, descriptors tgb_tl_c_<ctor>, tgb_tl_t_<Type> and
 *       the schema tgb_tl_schema_<NAME>.
 *   tlgen tables NAME LAYER OUT.c SCHEMA.tl...
 *       descriptor tables only (older layers the emulator must speak): the schema
 *       tgb_tl_schema_<NAME>, everything else file-local.
 *
 * The TL syntax handled is what Telegram's schemas use
 * (https://core.telegram.org/mtproto/TL): `name#id field:type ... = Result;`, sections
 * ---types--- / ---functions---, `flags:#` and `flags.N?type`, `Vector<T>` and bare
 * `vector<T>`, `%T`, generic `{X:Type}` with `!X`, and constructors without an explicit
 * id (their id is the CRC32 of the normalised declaration). Built-in declarations
 * (`int ? = Int`, `vector {t:Type} # [ t ] = Vector t`, `int128 4*[ int ]`) are skipped.
 *
 * Two declarations with one id: a declaration from a file's preamble (the part before
 * its ---types--- line, where tdlib keeps its own pseudo-functions) gives way to the
 * real one; any other clash is an error. Everything else inconsistent (unknown type,
 * duplicate name, bad flag reference) is an error that stops the build.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind {
    K_INT,
    K_LONG,
    K_DOUBLE,
    K_STRING,
    K_BYTES,
    K_INT128,
    K_INT256,
    K_FLAGS,
    K_TRUE,
    K_BOOL,
    K_OBJECT,
    K_BARE,
    K_VECTOR,
    K_BARE_VECTOR,
    K_ANY
};

static const char *const kind_enum[] = {
    "TGB_TL_INT",    "TGB_TL_LONG",   "TGB_TL_DOUBLE", "TGB_TL_STRING",      "TGB_TL_BYTES",
    "TGB_TL_INT128", "TGB_TL_INT256", "TGB_TL_FLAGS",  "TGB_TL_TRUE",        "TGB_TL_BOOL",
    "TGB_TL_OBJECT", "TGB_TL_BARE",   "TGB_TL_VECTOR", "TGB_TL_BARE_VECTOR", "TGB_TL_ANY"};

struct comb;
struct ttype;

/* A type expression as written, then resolved. */
struct texpr {
    char *text; /* as written, e.g. "Vector<InputPeer>" */
    enum kind kind;
    struct ttype *type;
    struct comb *ctor;
    struct texpr *elem;
    int index; /* emitted typeref number, -1 until emitted */
    unsigned min_size;
};

struct field {
    char *name;
    char *cname;
    struct texpr *type;
    int flag_field; /* index into fields, -1 if unconditional */
    int flag_bit;
};

struct comb {
    char *name;
    char *cname;
    uint32_t id;
    int is_function;
    int in_preamble;
    int dropped;
    const char *file;
    int line;
    char *result_text;
    struct texpr *result;
    struct ttype *type;
    struct field *fields;
    int nfields;
    char **params; /* generic parameter names ({X:Type}) */
    int nparams;
    unsigned min_size;
    int min_state; /* 0 unknown, 1 computing, 2 done */
    int explicit_id;
    uint32_t inferred_id;
    int index; /* position in the emitted table (tables mode) */
};

struct ttype {
    char *name;
    char *cname;
    struct comb **ctors;
    int nctors;
    int index;
};

static int verbose; /* TLGEN_VERBOSE set: print every note */
static int replaced_count, mismatch_count, repaired_count;

static struct comb **combs;
static int ncombs;
static struct ttype **types;
static int ntypes;
static struct texpr **exprs;
static int nexprs;

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

PRINTF_LIKE(1, 2) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tlgen: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        die("out of memory");
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

#define PUSH(arr, n, item)                                           \
    do {                                                             \
        (arr) = xrealloc((arr), sizeof(*(arr)) * (size_t)((n) + 1)); \
        (arr)[(n)++] = (item);                                       \
    } while (0)

/* ------------------------------------------------------------------ CRC32 */

static uint32_t crc32_of(const char *s)
{
    uint32_t crc = 0xffffffffu;
    for (; *s; s++) {
        crc ^= (unsigned char)*s;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

/*
 * The id of a declaration written without one: CRC32 of its normalised text, the rule
 * Telegram's and tdlib's generators use: no id, single spaces, no ';', "bytes" written
 * as "string", '<' as a space and no '>', no braces, and `flags.N?true` fields left out.
 * mtcute's "int53" is hashed as the "long" it stands for.
 */
static uint32_t infer_id(const char *name, char **tokens, int ntokens, const char *result)
{
    size_t cap = strlen(name) + strlen(result) + 8;
    for (int i = 0; i < ntokens; i++)
        cap += strlen(tokens[i]) + 1;
    char *s = xmalloc(cap);
    strcpy(s, name);
    for (int i = 0; i < ntokens; i++) {
        const char *t = tokens[i];
        const char *q = strchr(t, '?');
        if (q && strcmp(q + 1, "true") == 0)
            continue;
        strcat(s, " ");
        strcat(s, t);
    }
    strcat(s, " = ");
    strcat(s, result);
    /* rewrite in place into a second buffer */
    char *o = xmalloc(strlen(s) * 2 + 1);
    size_t k = 0;
    for (const char *p = s; *p; p++) {
        if ((strncmp(p, ":bytes", 6) == 0 || strncmp(p, "?bytes", 6) == 0) &&
            !isalnum((unsigned char)p[6]) && p[6] != '_') {
            o[k++] = *p;
            memcpy(o + k, "string", 6);
            k += 6;
            p += 5;
        } else if (strncmp(p, "int53", 5) == 0 && !isalnum((unsigned char)p[5]) &&
                   (p == s || !isalnum((unsigned char)p[-1]))) {
            memcpy(o + k, "long", 4);
            k += 4;
            p += 4;
        } else if (*p == '<') {
            o[k++] = ' ';
        } else if (*p == '>' || *p == '{' || *p == '}') {
            continue;
        } else {
            o[k++] = *p;
        }
    }
    o[k] = 0;
    uint32_t id = crc32_of(o);
    free(s);
    free(o);
    return id;
}

/* ------------------------------------------------------------------ names */

static const char *const reserved[] = {
    "auto",      "break",  "case",      "char",     "const",    "continue", "default",  "do",
    "double",    "else",   "enum",      "extern",   "float",    "for",      "goto",     "if",
    "inline",    "int",    "long",      "register", "restrict", "return",   "short",    "signed",
    "sizeof",    "static", "struct",    "switch",   "typedef",  "union",    "unsigned", "void",
    "volatile",  "while",  "bool",      "true",     "false",    "class",    "new",      "delete",
    "private",   "public", "protected", "template", "this",     "operator", "friend",   "virtual",
    "namespace", "export", "base",      "errno",    "unix",     "linux",    NULL};

static char *c_field_name(const char *name)
{
    for (int i = 0; reserved[i]; i++) {
        if (strcmp(name, reserved[i]) == 0) {
            char *s = xmalloc(strlen(name) + 2);
            sprintf(s, "%s_", name);
            return s;
        }
    }
    return xstrdup(name);
}

/* "messages.sendMessage" -> "messages_sendMessage" */
static char *c_name(const char *name)
{
    char *s = xstrdup(name);
    for (char *p = s; *p; p++)
        if (*p == '.')
            *p = '_';
    return s;
}

/* True if a TL name (after its namespace) starts with an upper-case letter: a type. */
static int is_boxed_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    const char *base = dot ? dot + 1 : name;
    return isupper((unsigned char)base[0]);
}

/* ------------------------------------------------------------------ parsing */

static struct ttype *find_type(const char *name, int create)
{
    for (int i = 0; i < ntypes; i++)
        if (strcmp(types[i]->name, name) == 0)
            return types[i];
    if (!create)
        return NULL;
    struct ttype *t = xmalloc(sizeof(*t));
    t->name = xstrdup(name);
    t->cname = c_name(name);
    t->index = ntypes;
    PUSH(types, ntypes, t);
    return t;
}

static struct comb *find_comb(const char *name)
{
    for (int i = 0; i < ncombs; i++)
        if (!combs[i]->dropped && strcmp(combs[i]->name, name) == 0)
            return combs[i];
    return NULL;
}

static struct texpr *new_expr(const char *text)
{
    struct texpr *e = xmalloc(sizeof(*e));
    e->text = xstrdup(text);
    e->index = -1;
    PUSH(exprs, nexprs, e);
    return e;
}

/* Splits "name:type" tokens. Returns 0 for a builtin declaration to skip. */
static int tokenize(char *decl, char ***tokens, int *ntokens)
{
    *tokens = NULL;
    *ntokens = 0;
    char *save = NULL;
    for (char *t = strtok_r(decl, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save))
        PUSH(*tokens, *ntokens, t);
    return 1;
}

static const char *builtin_names[] = {"int",    "long",   "double", "string", "bytes",
                                      "int128", "int256", "vector", "Vector", NULL};

static void parse_decl(char *text, const char *file, int line, int is_function, int in_preamble)
{
    char *eq = strstr(text, " = ");
    if (!eq) {
        /* "name = Type" with no spaces does not occur; anything else is malformed */
        die("%s:%d: no ' = ' in declaration", file, line);
    }
    *eq = 0;
    char *result = eq + 3;
    while (*result == ' ')
        result++;
    size_t rl = strlen(result);
    while (rl && (result[rl - 1] == ' ' || result[rl - 1] == ';'))
        result[--rl] = 0;

    char **tok;
    int ntok;
    tokenize(text, &tok, &ntok);
    if (ntok == 0)
        die("%s:%d: empty declaration", file, line);

    char *head = tok[0];
    char *hash = strchr(head, '#');
    char *name = hash ? xstrndup(head, (size_t)(hash - head)) : xstrdup(head);
    for (int i = 0; builtin_names[i]; i++) {
        if (strcmp(name, builtin_names[i]) == 0) {
            free(name);
            free(tok);
            return;
        }
    }
    for (int i = 1; i < ntok; i++) {
        /* `int ? = Int`, `# [ t ]`, `4*[ int ]`: built-in forms */
        if (strcmp(tok[i], "?") == 0 || strcmp(tok[i], "#") == 0 || tok[i][0] == '[' ||
            strchr(tok[i], '*')) {
            free(name);
            free(tok);
            return;
        }
    }

    struct comb *c = xmalloc(sizeof(*c));
    c->name = name;
    c->cname = c_name(name);
    c->is_function = is_function;
    c->in_preamble = in_preamble;
    c->file = file;
    c->line = line;
    c->result_text = xstrdup(result);
    c->index = -1;

    char **field_tokens = NULL;
    int nfield_tokens = 0;
    for (int i = 1; i < ntok; i++) {
        char *t = tok[i];
        if (t[0] == '{') {
            /* {X:Type}: a generic parameter */
            char *colon = strchr(t, ':');
            if (!colon || t[strlen(t) - 1] != '}')
                die("%s:%d: bad generic parameter '%s'", file, line, t);
            PUSH(c->params, c->nparams, xstrndup(t + 1, (size_t)(colon - t - 1)));
            PUSH(field_tokens, nfield_tokens, t);
            continue;
        }
        char *colon = strchr(t, ':');
        if (!colon)
            die("%s:%d: field '%s' has no type", file, line, t);
        PUSH(field_tokens, nfield_tokens, t);
        struct field f = {0};
        f.name = xstrndup(t, (size_t)(colon - t));
        f.cname = c_field_name(f.name);
        f.flag_field = -1;
        const char *ty = colon + 1;
        const char *q = strchr(ty, '?');
        if (q) {
            /* flags.N?T: find the # field and the bit */
            const char *dot = strchr(ty, '.');
            if (!dot || dot > q)
                die("%s:%d: bad conditional field '%s'", file, line, t);
            char *fname = xstrndup(ty, (size_t)(dot - ty));
            char *end;
            long bit = strtol(dot + 1, &end, 10);
            if (end != q || bit < 0 || bit > 31)
                die("%s:%d: bad flag bit in '%s'", file, line, t);
            for (int k = 0; k < c->nfields; k++)
                if (strcmp(c->fields[k].name, fname) == 0)
                    f.flag_field = k;
            if (f.flag_field < 0 || c->fields[f.flag_field].type->kind != K_FLAGS)
                die("%s:%d: '%s' refers to no earlier # field", file, line, t);
            f.flag_bit = (int)bit;
            free(fname);
            ty = q + 1;
        }
        f.type = new_expr(ty);
        if (strcmp(ty, "#") == 0)
            f.type->kind = K_FLAGS; /* resolved early: later fields refer to it */
        else
            f.type->kind = (enum kind) - 1;
        PUSH(c->fields, c->nfields, f);
    }

    c->inferred_id = infer_id(name, field_tokens, nfield_tokens, result);
    if (hash && is_function) {
        /*
         * mtcute's layer-227 schema, converted from its JSON, lost the Vector<> of some
         * results ("= int" for "= Vector<int>"). The id is a CRC32 of the true line, so
         * it tells: when Vector<result> hashes to the declared id, that was the result.
         */
        char *vec = xmalloc(strlen(result) + 9);
        sprintf(vec, "Vector<%s>", result);
        uint32_t declared = (uint32_t)strtoul(hash + 1, NULL, 16);
        if (c->inferred_id != declared &&
            infer_id(name, field_tokens, nfield_tokens, vec) == declared) {
            repaired_count++;
            if (verbose)
                fprintf(stderr, "tlgen: note: %s:%d: %s returns %s (its id says so)\n", file, line,
                        name, vec);
            free(c->result_text);
            c->result_text = vec;
            c->inferred_id = declared;
        } else {
            free(vec);
        }
    }
    if (hash) {
        char *end;
        errno = 0;
        unsigned long id = strtoul(hash + 1, &end, 16);
        if (*end || end == hash + 1 || errno || id > 0xfffffffful)
            die("%s:%d: bad constructor id '%s'", file, line, hash + 1);
        c->id = (uint32_t)id;
        c->explicit_id = 1;
    } else {
        c->id = c->inferred_id;
    }
    free(field_tokens);
    free(tok);
    PUSH(combs, ncombs, c);
}

static void parse_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open %s: %s", path, strerror(errno));
    /* A file with a ---types--- line has a preamble: everything before that line. */
    int has_types_marker = 0;
    char line[65536];
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "---types---", 11) == 0)
            has_types_marker = 1;
    rewind(f);

    int is_function = 0, in_preamble = has_types_marker, lineno = 0, start_line = 0;
    char *stmt = NULL;
    size_t stmt_len = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char *comment = strstr(line, "//");
        if (comment)
            *comment = 0;
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        size_t n = strlen(p);
        while (n && isspace((unsigned char)p[n - 1]))
            p[--n] = 0;
        if (!n)
            continue;
        if (!stmt_len && strncmp(p, "---", 3) == 0) {
            if (strcmp(p, "---functions---") == 0)
                is_function = 1;
            else if (strcmp(p, "---types---") == 0)
                is_function = 0, in_preamble = 0;
            else
                die("%s:%d: unknown section '%s'", path, lineno, p);
            continue;
        }
        if (!stmt_len)
            start_line = lineno;
        stmt = xrealloc(stmt, stmt_len + n + 2);
        memcpy(stmt + stmt_len, p, n);
        stmt_len += n;
        stmt[stmt_len++] = ' ';
        stmt[stmt_len] = 0;
        if (p[n - 1] == ';') {
            parse_decl(stmt, path, start_line, is_function, in_preamble);
            stmt_len = 0;
        }
    }
    if (stmt_len)
        die("%s: declaration at line %d has no ';'", path, start_line);
    free(stmt);
    fclose(f);
}

/* ------------------------------------------------------------------ resolution */

static int is_param(struct comb *c, const char *name)
{
    for (int i = 0; i < c->nparams; i++)
        if (strcmp(c->params[i], name) == 0)
            return 1;
    return 0;
}

static struct texpr *resolve(struct comb *c, struct texpr *e);

static struct texpr *resolve_text(struct comb *c, const char *text)
{
    return resolve(c, new_expr(text));
}

static struct texpr *resolve(struct comb *c, struct texpr *e)
{
    const char *s = e->text;
    if ((int)e->kind == K_FLAGS)
        return e;
    static const struct {
        const char *name;
        enum kind kind;
    } prims[] = {{"int", K_INT},
                 {"long", K_LONG},
                 {"double", K_DOUBLE},
                 /* mtcute's name for a long that fits in 53 bits: 8 bytes on the wire */
                 {"int53", K_LONG},
                 {"string", K_STRING},
                 {"bytes", K_BYTES},
                 {"int128", K_INT128},
                 {"int256", K_INT256},
                 {"true", K_TRUE},
                 {"Bool", K_BOOL},
                 {"#", K_FLAGS},
                 {"Object", K_ANY}};
    for (size_t i = 0; i < sizeof(prims) / sizeof(prims[0]); i++) {
        if (strcmp(s, prims[i].name) == 0) {
            e->kind = prims[i].kind;
            return e;
        }
    }
    if (s[0] == '!' || is_param(c, s)) {
        if (s[0] == '!' && !is_param(c, s + 1))
            die("%s:%d: %s: '%s' is not a parameter", c->file, c->line, c->name, s);
        e->kind = K_ANY;
        return e;
    }
    const char *lt = strchr(s, '<');
    if (lt) {
        size_t n = strlen(s);
        if (s[n - 1] != '>')
            die("%s:%d: %s: bad type '%s'", c->file, c->line, c->name, s);
        char *outer = xstrndup(s, (size_t)(lt - s));
        char *inner = xstrndup(lt + 1, n - (size_t)(lt - s) - 2);
        if (strcmp(outer, "Vector") == 0)
            e->kind = K_VECTOR;
        else if (strcmp(outer, "vector") == 0)
            e->kind = K_BARE_VECTOR;
        else
            die("%s:%d: %s: unknown generic '%s'", c->file, c->line, c->name, outer);
        e->elem = resolve_text(c, inner);
        if (e->elem->kind == K_TRUE || e->elem->kind == K_FLAGS)
            die("%s:%d: %s: vector of '%s'", c->file, c->line, c->name, inner);
        free(outer);
        free(inner);
        return e;
    }
    if (s[0] == '%') {
        struct ttype *t = find_type(s + 1, 0);
        if (!t || t->nctors != 1)
            die("%s:%d: %s: '%s' needs a type with exactly one constructor", c->file, c->line,
                c->name, s);
        e->kind = K_BARE;
        e->ctor = t->ctors[0];
        return e;
    }
    if (is_boxed_name(s)) {
        struct ttype *t = find_type(s, 0);
        if (!t)
            die("%s:%d: %s: unknown type '%s'", c->file, c->line, c->name, s);
        e->kind = K_OBJECT;
        e->type = t;
        return e;
    }
    struct comb *bare = find_comb(s);
    if (!bare || bare->is_function)
        die("%s:%d: %s: unknown bare constructor '%s'", c->file, c->line, c->name, s);
    e->kind = K_BARE;
    e->ctor = bare;
    return e;
}

static unsigned expr_min(struct texpr *e);

static unsigned comb_min(struct comb *c)
{
    if (c->min_state == 2)
        return c->min_size;
    if (c->min_state == 1)
        return 0; /* recursive bare type: 0 is a safe lower bound */
    c->min_state = 1;
    unsigned sum = 0;
    for (int i = 0; i < c->nfields; i++)
        if (c->fields[i].flag_field < 0)
            sum += expr_min(c->fields[i].type);
    c->min_size = sum;
    c->min_state = 2;
    return sum;
}

/* Fewest bytes a value of this type takes on the wire (boxed objects: their id). */
static unsigned expr_min(struct texpr *e)
{
    switch (e->kind) {
    case K_INT:
    case K_FLAGS:
    case K_STRING:
    case K_BYTES:
    case K_BOOL:
    case K_OBJECT:
    case K_ANY:
    case K_BARE_VECTOR: return 4;
    case K_LONG:
    case K_DOUBLE:
    case K_VECTOR: return 8;
    case K_INT128: return 16;
    case K_INT256: return 32;
    case K_TRUE: return 0;
    case K_BARE: return comb_min(e->ctor);
    }
    return 0;
}

static void resolve_all(void)
{
    /* Duplicate ids: the preamble's pseudo-declarations give way to real ones. */
    for (int i = 0; i < ncombs; i++) {
        for (int j = i + 1; j < ncombs; j++) {
            struct comb *a = combs[i], *b = combs[j];
            if (a->dropped || b->dropped || a->id != b->id)
                continue;
            if (a->in_preamble && !b->in_preamble)
                a->dropped = 1;
            else if (b->in_preamble && !a->in_preamble)
                b->dropped = 1;
            else
                die("%s:%d: %s has the id %08x of %s (%s:%d)", b->file, b->line, b->name, b->id,
                    a->name, a->file, a->line);
        }
    }
    /* Compact the list. */
    int n = 0;
    for (int i = 0; i < ncombs; i++) {
        if (combs[i]->dropped) {
            replaced_count++;
            if (verbose)
                fprintf(stderr, "tlgen: note: %s#%08x (%s:%d) gives way to a real declaration\n",
                        combs[i]->name, combs[i]->id, combs[i]->file, combs[i]->line);
            continue;
        }
        combs[n++] = combs[i];
    }
    ncombs = n;
    for (int i = 0; i < ncombs; i++)
        for (int j = i + 1; j < ncombs; j++)
            if (strcmp(combs[i]->cname, combs[j]->cname) == 0)
                die("%s:%d: %s is declared twice (also %s:%d)", combs[j]->file, combs[j]->line,
                    combs[j]->name, combs[i]->file, combs[i]->line);

    /* Types, from the constructors' results. */
    for (int i = 0; i < ncombs; i++) {
        struct comb *c = combs[i];
        if (c->is_function)
            continue;
        if (!is_boxed_name(c->result_text) || strchr(c->result_text, ' ') ||
            strchr(c->result_text, '<'))
            die("%s:%d: %s: constructor of '%s'", c->file, c->line, c->name, c->result_text);
        struct ttype *t = find_type(c->result_text, 1);
        c->type = t;
        PUSH(t->ctors, t->nctors, c);
    }
    for (int i = 0; i < ntypes; i++)
        for (int j = i + 1; j < ntypes; j++)
            if (strcmp(types[i]->cname, types[j]->cname) == 0)
                die("types %s and %s have the same C name", types[i]->name, types[j]->name);

    for (int i = 0; i < ncombs; i++) {
        struct comb *c = combs[i];
        for (int k = 0; k < c->nfields; k++) {
            struct field *f = &c->fields[k];
            resolve(c, f->type);
            if (f->type->kind == K_TRUE && f->flag_field < 0)
                die("%s:%d: %s.%s: 'true' outside a flag", c->file, c->line, c->name, f->name);
            for (int j = 0; j < k; j++)
                if (strcmp(c->fields[j].cname, f->cname) == 0)
                    die("%s:%d: %s: field %s twice", c->file, c->line, c->name, f->name);
        }
        if (c->is_function)
            c->result = resolve_text(c, c->result_text);
    }
    for (int i = 0; i < nexprs; i++)
        exprs[i]->min_size = expr_min(exprs[i]);
    for (int i = 0; i < ncombs; i++)
        comb_min(combs[i]);
}

/* ------------------------------------------------------------------ shared output */

static FILE *out;

PRINTF_LIKE(1, 2) static void emit(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
}

static int ndistinct_exprs;
static char **emitted_keys;
static int nemitted_keys;

/* A structural key: two expressions with one key share one typeref. */
static void expr_key(struct texpr *e, char *buf, size_t n)
{
    char inner[1024] = "";
    if (e->elem)
        expr_key(e->elem, inner, sizeof(inner));
    snprintf(buf, n, "%d:%s:%s:(%s)", (int)e->kind, e->type ? e->type->name : "",
             e->ctor ? e->ctor->name : "", inner);
}

/* Emits the typeref of `e` (its element's first), once per distinct type. */
static void emit_typeref(struct texpr *e, const char *prefix, int with_structs)
{
    if (e->index >= 0)
        return;
    if (e->elem)
        emit_typeref(e->elem, prefix, with_structs);
    char key[1200];
    expr_key(e, key, sizeof(key));
    for (int i = 0; i < nemitted_keys; i++) {
        if (strcmp(emitted_keys[i], key) == 0) {
            e->index = i;
            return;
        }
    }
    PUSH(emitted_keys, nemitted_keys, xstrdup(key));
    e->index = ndistinct_exprs++;
    char type_ref[256] = "NULL", ctor_ref[256] = "NULL", elem_ref[64] = "NULL";
    if (e->type) {
        if (with_structs)
            snprintf(type_ref, sizeof(type_ref), "&tgb_tl_t_%s", e->type->cname);
        else
            snprintf(type_ref, sizeof(type_ref), "&%stypes[%d]", prefix, e->type->index);
    }
    if (e->ctor) {
        if (with_structs)
            snprintf(ctor_ref, sizeof(ctor_ref), "&tgb_tl_c_%s", e->ctor->cname);
        else
            snprintf(ctor_ref, sizeof(ctor_ref), "&%scombs[%d]", prefix, e->ctor->index);
    }
    if (e->elem)
        snprintf(elem_ref, sizeof(elem_ref), "&tr_%d", e->elem->index);
    emit("static const tgb_tl_typeref tr_%d = {%s, %u, %s, %s, %s}; /* %s */\n", e->index,
         kind_enum[e->kind], e->min_size, type_ref, ctor_ref, elem_ref, e->text);
}

static void emit_all_typerefs(const char *prefix, int with_structs)
{
    for (int i = 0; i < ncombs; i++) {
        for (int k = 0; k < combs[i]->nfields; k++)
            emit_typeref(combs[i]->fields[k].type, prefix, with_structs);
        if (combs[i]->result)
            emit_typeref(combs[i]->result, prefix, with_structs);
    }
}

static void emit_fields(struct comb *c, int with_structs)
{
    if (!c->nfields)
        return;
    emit("static const tgb_tl_field fields_%d[] = {\n", c->index);
    for (int k = 0; k < c->nfields; k++) {
        struct field *f = &c->fields[k];
        char offset[512] = "0";
        if (with_structs && f->type->kind != K_TRUE)
            snprintf(offset, sizeof(offset), "offsetof(tl_%s, %s)", c->cname, f->cname);
        emit("    {\"%s\", &tr_%d, %s, %s, %d, %d},\n", f->name, f->type->index, offset,
             kind_enum[f->type->kind], f->flag_field, f->flag_field >= 0 ? f->flag_bit : 0);
    }
    emit("};\n");
}

static void emit_comb_body(struct comb *c, const char *prefix, int with_structs)
{
    char size[256] = "0", type_ref[256] = "NULL", result_ref[64] = "NULL", fields_ref[64] = "NULL";
    if (with_structs)
        snprintf(size, sizeof(size), "sizeof(tl_%s)", c->cname);
    if (c->type) {
        if (with_structs)
            snprintf(type_ref, sizeof(type_ref), "&tgb_tl_t_%s", c->type->cname);
        else
            snprintf(type_ref, sizeof(type_ref), "&%stypes[%d]", prefix, c->type->index);
    }
    if (c->result)
        snprintf(result_ref, sizeof(result_ref), "&tr_%d", c->result->index);
    if (c->nfields)
        snprintf(fields_ref, sizeof(fields_ref), "fields_%d", c->index);
    emit("{0x%08xu, %d, %d, %s, %u, \"%s\", %s, %s, %s}", c->id, c->is_function, c->nfields, size,
         c->min_size, c->name, type_ref, result_ref, fields_ref);
}

/* The id table: open addressing with linear probing, at most half full. */
static void emit_id_table(const char *prefix, int with_structs, const char *table_name,
                          unsigned *mask_out)
{
    unsigned size = 16;
    while (size < (unsigned)ncombs * 2)
        size *= 2;
    struct comb **slots = xmalloc(sizeof(*slots) * size);
    for (int i = 0; i < ncombs; i++) {
        unsigned h = combs[i]->id & (size - 1);
        while (slots[h])
            h = (h + 1) & (size - 1);
        slots[h] = combs[i];
    }
    emit("static const tgb_tl_combinator *const %s[%u] = {\n", table_name, size);
    for (unsigned h = 0; h < size; h++) {
        if (!slots[h])
            continue;
        if (with_structs)
            emit("    [%u] = &tgb_tl_c_%s,\n", h, slots[h]->cname);
        else
            emit("    [%u] = &%scombs[%d],\n", h, prefix, slots[h]->index);
    }
    emit("};\n");
    *mask_out = size - 1;
    free(slots);
}

static void emit_comb_list(const char *list_name, int functions, const char *prefix,
                           int with_structs, unsigned *count)
{
    *count = 0;
    emit("static const tgb_tl_combinator *const %s[] = {\n", list_name);
    for (int i = 0; i < ncombs; i++) {
        if (combs[i]->is_function != functions)
            continue;
        (*count)++;
        if (with_structs)
            emit("    &tgb_tl_c_%s,\n", combs[i]->cname);
        else
            emit("    &%scombs[%d],\n", prefix, combs[i]->index);
    }
    if (!*count)
        emit("    NULL\n");
    emit("};\n");
}

static void emit_schema(const char *name, int layer, int with_structs, const char *prefix)
{
    unsigned nc, nf, mask;
    emit_comb_list("schema_ctors", 0, prefix, with_structs, &nc);
    emit_comb_list("schema_functions", 1, prefix, with_structs, &nf);
    emit("static const tgb_tl_type *const schema_types[] = {\n");
    for (int i = 0; i < ntypes; i++) {
        if (with_structs)
            emit("    &tgb_tl_t_%s,\n", types[i]->cname);
        else
            emit("    &%stypes[%d],\n", prefix, i);
    }
    emit("};\n");
    emit_id_table(prefix, with_structs, "schema_by_id", &mask);
    emit("const tgb_tl_schema tgb_tl_schema_%s = {\"%s\", %d, %d, %uu, %uu, %du,\n"
         "    schema_ctors, schema_functions, schema_types, %uu, schema_by_id};\n",
         name, name, layer, with_structs, nc, nf, ntypes, mask);
}

/* ------------------------------------------------------------------ structs mode */

/* The C type of a value of `e` as a struct member or vector element. */
static void c_type(struct texpr *e, char *buf, size_t n)
{
    switch (e->kind) {
    case K_INT: snprintf(buf, n, "int32_t"); break;
    case K_LONG: snprintf(buf, n, "int64_t"); break;
    case K_DOUBLE: snprintf(buf, n, "double"); break;
    case K_STRING: snprintf(buf, n, "tgb_tl_string"); break;
    case K_BYTES: snprintf(buf, n, "tgb_tl_bytes"); break;
    case K_INT128: snprintf(buf, n, "tgb_tl_int128"); break;
    case K_INT256: snprintf(buf, n, "tgb_tl_int256"); break;
    case K_FLAGS: snprintf(buf, n, "uint32_t"); break;
    case K_BOOL: snprintf(buf, n, "bool"); break;
    case K_OBJECT: snprintf(buf, n, "tl_%s *", e->type->cname); break;
    case K_BARE: snprintf(buf, n, "tl_%s *", e->ctor->cname); break;
    case K_ANY: snprintf(buf, n, "tl_object *"); break;
    case K_VECTOR:
    case K_BARE_VECTOR: {
        char inner[256];
        c_type(e->elem, inner, sizeof(inner));
        /* the vector's name is built from the element's C type */
        char name[256];
        size_t k = 0;
        for (const char *p = inner; *p && k + 1 < sizeof(name); p++) {
            if (*p == ' ' || *p == '*')
                continue;
            name[k++] = *p;
        }
        name[k] = 0;
        const char *base = name;
        if (strncmp(base, "tgb_tl_", 7) == 0)
            base += 7;
        else if (strncmp(base, "tl_", 3) == 0)
            base += 3;
        else if (strcmp(base, "int32_t") == 0)
            base = "int";
        else if (strcmp(base, "int64_t") == 0)
            base = "long";
        if ((size_t)snprintf(buf, n, "tl_vec_%s", base) >= n)
            die("type name too long: %s", e->text);
        break;
    }
    case K_TRUE: buf[0] = 0; break;
    }
}

static char **vec_names;
static int nvec_names;

static void emit_vector_typedef(struct texpr *e)
{
    if (e->kind != K_VECTOR && e->kind != K_BARE_VECTOR)
        return;
    emit_vector_typedef(e->elem);
    char name[256], elem[256];
    c_type(e, name, sizeof(name));
    for (int i = 0; i < nvec_names; i++)
        if (strcmp(vec_names[i], name) == 0)
            return;
    PUSH(vec_names, nvec_names, xstrdup(name));
    c_type(e->elem, elem, sizeof(elem));
    size_t el = strlen(elem);
    emit("typedef struct %s {\n    %s%s*items;\n    uint32_t count;\n} %s;\n", name, elem,
         el && elem[el - 1] == '*' ? "" : " ", name);
}

static void write_header(const char *path, const char *name, int layer, char **inputs, int ninputs)
{
    out = fopen(path, "w");
    if (!out)
        die("cannot write %s", path);
    emit("/* Generated by tools/tlgen from");
    for (int i = 0; i < ninputs; i++) {
        const char *base = strrchr(inputs[i], '/');
        emit(" %s", base ? base + 1 : inputs[i]);
    }
    emit(" (layer %d). Do not edit. */\n", layer);
    emit("#ifndef TGB_TL_GENERATED_%s_H\n#define TGB_TL_GENERATED_%s_H\n\n", name, name);
    emit("#include \"tl/tl.h\"\n\n");
    emit("/* The layer of this schema, as sent in invokeWithLayer. */\n");
    emit("#define TGB_TL_SCHEMA_LAYER %d\n\n", layer);

    emit("/* Constructor and function ids. */\n");
    for (int i = 0; i < ncombs; i++)
        emit("#define TL_ID_%s 0x%08xu\n", combs[i]->cname, combs[i]->id);

    emit("\n/* Boxed types: what a field of that type points to. */\n");
    for (int i = 0; i < ntypes; i++)
        emit("typedef struct tl_%s {\n    const tgb_tl_combinator *desc;\n} tl_%s;\n",
             types[i]->cname, types[i]->cname);

    emit("\n/* Constructors and functions. */\n");
    for (int i = 0; i < ncombs; i++) {
        emit("typedef struct tl_%s tl_%s;\n", combs[i]->cname, combs[i]->cname);
        /* what TL_AS() checks its argument against */
        emit("typedef tl_%s tl_boxed_%s;\n", combs[i]->type ? combs[i]->type->cname : "object",
             combs[i]->cname);
    }
    emit("\n/* Vectors. */\n");
    for (int i = 0; i < ncombs; i++) {
        for (int k = 0; k < combs[i]->nfields; k++)
            emit_vector_typedef(combs[i]->fields[k].type);
        if (combs[i]->result)
            emit_vector_typedef(combs[i]->result);
    }

    emit("\n");
    for (int i = 0; i < ncombs; i++) {
        struct comb *c = combs[i];
        emit("/* %s#%08x%s */\n", c->name, c->id, c->is_function ? " (function)" : "");
        emit("struct tl_%s {\n", c->cname);
        emit("    tl_%s base;\n", c->type ? c->type->cname : "object");
        for (int k = 0; k < c->nfields; k++) {
            struct field *f = &c->fields[k];
            char ty[256];
            if (f->type->kind == K_TRUE)
                continue;
            if (f->type->kind == K_INT128 || f->type->kind == K_INT256) {
                emit("    uint8_t %s[%d];\n", f->cname, f->type->kind == K_INT128 ? 16 : 32);
                continue;
            }
            c_type(f->type, ty, sizeof(ty));
            size_t tl = strlen(ty);
            emit("    %s%s%s;\n", ty, tl && ty[tl - 1] == '*' ? "" : " ", f->cname);
        }
        emit("};\n");
    }

    emit("\n/* Conditional fields: the flags word (TL_W_) and bit (TL_B_) of each. */\n");
    for (int i = 0; i < ncombs; i++) {
        struct comb *c = combs[i];
        for (int k = 0; k < c->nfields; k++) {
            struct field *f = &c->fields[k];
            if (f->flag_field < 0)
                continue;
            emit("#define TL_W_%s_%s %s\n", c->cname, f->cname, c->fields[f->flag_field].cname);
            emit("#define TL_B_%s_%s (1u << %d)\n", c->cname, f->cname, f->flag_bit);
        }
    }

    emit("\n/* Descriptors. */\n");
    for (int i = 0; i < ntypes; i++)
        emit("extern const tgb_tl_type tgb_tl_t_%s;\n", types[i]->cname);
    for (int i = 0; i < ncombs; i++)
        emit("extern const tgb_tl_combinator tgb_tl_c_%s;\n", combs[i]->cname);
    emit("extern const tgb_tl_schema tgb_tl_schema_%s;\n", name);
    emit("\n#endif\n");
    fclose(out);
}

static void write_source(const char *path, const char *header, const char *name, int layer,
                         int with_structs)
{
    out = fopen(path, "w");
    if (!out)
        die("cannot write %s", path);
    const char *prefix = with_structs ? "" : "layer_";
    emit("/* Generated by tools/tlgen. Do not edit. */\n");
    if (with_structs) {
        const char *base = strrchr(header, '/');
        emit("#include \"tl/%s\"\n\n#include <stddef.h>\n\n", base ? base + 1 : header);
    } else {
        emit("#include \"tl/tl.h\"\n\n#include <stddef.h>\n\n");
        emit("extern const tgb_tl_schema tgb_tl_schema_%s;\n", name);
        /* tentative definitions: the tables refer to each other */
        emit("static const tgb_tl_combinator %scombs[%d];\n", prefix, ncombs);
        emit("static const tgb_tl_type %stypes[%d];\n\n", prefix, ntypes);
    }
    for (int i = 0; i < ncombs; i++)
        combs[i]->index = i;
    emit_all_typerefs(prefix, with_structs);
    emit("\n");
    for (int i = 0; i < ncombs; i++)
        emit_fields(combs[i], with_structs);
    emit("\n");
    if (with_structs) {
        for (int i = 0; i < ncombs; i++) {
            emit("const tgb_tl_combinator tgb_tl_c_%s = ", combs[i]->cname);
            emit_comb_body(combs[i], prefix, 1);
            emit(";\n");
        }
    } else {
        emit("static const tgb_tl_combinator %scombs[%d] = {\n", prefix, ncombs);
        for (int i = 0; i < ncombs; i++) {
            emit("    ");
            emit_comb_body(combs[i], prefix, 0);
            emit(",\n");
        }
        emit("};\n");
    }
    emit("\n");
    for (int i = 0; i < ntypes; i++) {
        struct ttype *t = types[i];
        emit("static const tgb_tl_combinator *const ctors_of_%d[] = {", i);
        for (int k = 0; k < t->nctors; k++) {
            if (with_structs)
                emit("&tgb_tl_c_%s, ", t->ctors[k]->cname);
            else
                emit("&%scombs[%d], ", prefix, t->ctors[k]->index);
        }
        emit("};\n");
    }
    if (with_structs) {
        for (int i = 0; i < ntypes; i++)
            emit("const tgb_tl_type tgb_tl_t_%s = {\"%s\", %d, ctors_of_%d};\n", types[i]->cname,
                 types[i]->name, types[i]->nctors, i);
    } else {
        emit("static const tgb_tl_type %stypes[%d] = {\n", prefix, ntypes);
        for (int i = 0; i < ntypes; i++)
            emit("    {\"%s\", %d, ctors_of_%d},\n", types[i]->name, types[i]->nctors, i);
        emit("};\n");
    }
    emit("\n");
    emit_schema(name, layer, with_structs, prefix);
    fclose(out);
}

/*
 * An explicit id that differs from the CRC32 of its declaration is legal (Telegram
 * sometimes keeps an old id), but worth a note: it also proves infer_id() right on the
 * thousands that match.
 */
static void report_id_check(void)
{
    int explicit_ids = 0, mismatches = 0;
    for (int i = 0; i < ncombs; i++) {
        if (!combs[i]->explicit_id)
            continue;
        explicit_ids++;
        if (combs[i]->inferred_id != combs[i]->id) {
            mismatches++;
            if (verbose)
                fprintf(stderr, "tlgen: note: %s#%08x: its declaration hashes to %08x\n",
                        combs[i]->name, combs[i]->id, combs[i]->inferred_id);
        }
    }
    mismatch_count = mismatches;
    if (explicit_ids && mismatches * 100 > explicit_ids)
        die("%d of %d explicit ids differ from their CRC32: is the parser wrong?", mismatches,
            explicit_ids);
}

int main(int argc, char **argv)
{
    if (argc < 6)
        die("usage: tlgen structs NAME LAYER OUT.h OUT.c SCHEMA.tl... | "
            "tlgen tables NAME LAYER OUT.c SCHEMA.tl...");
    int with_structs = strcmp(argv[1], "structs") == 0;
    if (!with_structs && strcmp(argv[1], "tables") != 0)
        die("unknown mode '%s'", argv[1]);
    const char *name = argv[2];
    int layer = atoi(argv[3]);
    verbose = getenv("TLGEN_VERBOSE") != NULL;
    int first_input = with_structs ? 6 : 5;
    if (argc <= first_input)
        die("no schema files given");
    for (int i = first_input; i < argc; i++)
        parse_file(argv[i]);
    resolve_all();
    report_id_check();
    int nfunctions = 0;
    for (int i = 0; i < ncombs; i++)
        nfunctions += combs[i]->is_function;
    printf("tlgen: %s (layer %d): %d constructors, %d functions, %d types; %d preamble "
           "declarations replaced, %d ids differ from their CRC32, %d results repaired "
           "(TLGEN_VERBOSE=1 for details)\n",
           name, layer, ncombs - nfunctions, nfunctions, ntypes, replaced_count, mismatch_count,
           repaired_count);
    if (with_structs) {
        write_header(argv[4], name, layer, argv + first_input, argc - first_input);
        write_source(argv[5], argv[4], name, layer, 1);
    } else {
        write_source(argv[4], NULL, name, layer, 0);
    }
    return 0;
}
