/* Per-line work of the text cleaner that Python would do word by word.
 *
 * split_lines: a text to its non-empty lines (spacing normalised, hard-wrapped paragraphs
 *              joined) and their word counts.
 * line_keys:   case-folded lines to their keys (the words, one space apart).
 * repeated_lines: lines whose 4-word shingles mostly appeared in earlier lines.
 * needles / find_needles: which of many strings occur in which line of a text, in one pass
 *              (Aho-Corasick).
 *
 * pipeline/clean/lines.py holds the same functions in Python: the reference (a test checks that
 * both agree) and the fallback when this module is not built.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mix64.h"

#define ZERO_WIDTH_SPACE 0x200B

/* str.splitlines boundaries (\r\n is one boundary: handled by the caller). */
static inline int is_line_break(Py_UCS4 c) {
    return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E || c == 0x85 || c == 0x2028 || c == 0x2029;
}

/* Chinese and Japanese characters: about two make a word (pipeline.model.UNSPACED_SCRIPT). */
static inline int is_unspaced(Py_UCS4 c) {
    return (c >= 0x3040 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF);
}

/* Characters that end a sentence (pipeline.clean.lines.SENTENCE_END). */
static inline int ends_sentence(Py_UCS4 c) {
    switch (c) {
    case '.': case '!': case '?': case ':': case ';': case 0x2026: case '"': case '\'': case 0x201D: case 0x2019:
    case 0xBB: case ')': case ']': case 0x3002: case 0xFF01: case 0xFF1F: case 0x300D: case 0x300F:
        return 1;
    default:
        return 0;
    }
}

/* \w of Python's re module for str patterns (ASCII from a table: the Unicode test is four lookups). */
static char ASCII_WORD[128];

static inline int is_word(Py_UCS4 c) {
    if (c < 128) return ASCII_WORD[c];
    return Py_UNICODE_ISALNUM(c) || c == '_';
}

/* The str's code points as UCS4 (a copy; the caller frees it with PyMem_Free). */
static Py_UCS4 *as_ucs4(PyObject *text, Py_ssize_t *length) {
    *length = PyUnicode_GET_LENGTH(text);
    return PyUnicode_AsUCS4Copy(text);
}

typedef struct {
    Py_UCS4 *data;
    Py_ssize_t size;
    Py_ssize_t capacity;
} Buffer;

static int buffer_reserve(Buffer *b, Py_ssize_t extra) {
    if (b->size + extra <= b->capacity) return 0;
    Py_ssize_t capacity = b->capacity ? b->capacity : 256;
    while (capacity < b->size + extra) capacity *= 2;
    Py_UCS4 *data = PyMem_Realloc(b->data, (size_t)capacity * sizeof(Py_UCS4));
    if (!data) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = data;
    b->capacity = capacity;
    return 0;
}

/* Append the pending line (if any) to the output lists. */
static int flush_line(Buffer *pending, Py_ssize_t words, PyObject *lines, PyObject *counts) {
    if (pending->size == 0) return 0;
    PyObject *line = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, pending->data, pending->size);
    if (!line) return -1;
    PyObject *count = PyLong_FromSsize_t(words);
    int failed = !count || PyList_Append(lines, line) < 0 || PyList_Append(counts, count) < 0;
    Py_DECREF(line);
    Py_XDECREF(count);
    pending->size = 0;
    return failed ? -1 : 0;
}

static PyObject *split_lines(PyObject *self, PyObject *args) {
    PyObject *text;
    if (!PyArg_ParseTuple(args, "U", &text)) return NULL;
    Py_ssize_t n;
    Py_UCS4 *data = as_ucs4(text, &n);
    if (!data) return NULL;
    PyObject *lines = PyList_New(0), *counts = PyList_New(0);
    /* A line is never longer than the text: both buffers are reserved once. */
    Buffer pending = {0}, current = {0};
    Py_ssize_t pending_words = 0;
    if (!lines || !counts || buffer_reserve(&pending, n + 1) < 0 || buffer_reserve(&current, n + 1) < 0) goto fail;

    Py_ssize_t i = 0;
    while (i <= n) {
        /* One physical line: its tokens joined by single spaces into `current`. */
        current.size = 0;
        Py_ssize_t tokens = 0, unspaced = 0;
        int in_token = 0;
        for (; i < n; i++) {
            Py_UCS4 c = data[i];
            if (c < 128) {
                if (c == '\n' || c == '\r' || (c >= 0x0B && c <= 0x0C) || (c >= 0x1C && c <= 0x1E)) break;
                if (Py_UNICODE_ISSPACE(c)) { /* a table for ASCII; \x1c-\x1f count, as for str.split */
                    in_token = 0;
                    continue;
                }
            } else {
                if (is_line_break(c)) break;
                if (c == ZERO_WIDTH_SPACE) continue; /* removed before splitting: it joins what it separates */
                if (Py_UNICODE_ISSPACE(c)) {
                    in_token = 0;
                    continue;
                }
                unspaced += is_unspaced(c);
            }
            if (!in_token) {
                if (tokens) current.data[current.size++] = ' ';
                tokens++;
                in_token = 1;
            }
            current.data[current.size++] = c;
        }
        if (i < n && data[i] == '\r' && i + 1 < n && data[i + 1] == '\n') i++;
        i++; /* past the boundary (or past the end) */
        if (tokens == 0) {
            if (i > n) break;
            continue;
        }
        Py_ssize_t words = tokens + unspaced / 2;
        /* A hard-wrapped paragraph: the pending line broke mid-sentence and this one goes on in lower case. */
        int continues = pending.size && pending_words >= 6 && Py_UNICODE_ISLOWER(current.data[0]) && !ends_sentence(pending.data[pending.size - 1]);
        if (continues) {
            pending.data[pending.size++] = ' ';
            memcpy(pending.data + pending.size, current.data, (size_t)current.size * sizeof(Py_UCS4));
            pending.size += current.size;
            pending_words += words;
        } else {
            if (flush_line(&pending, pending_words, lines, counts) < 0) goto fail;
            memcpy(pending.data, current.data, (size_t)current.size * sizeof(Py_UCS4));
            pending.size = current.size;
            pending_words = words;
        }
        if (i > n) break;
    }
    if (flush_line(&pending, pending_words, lines, counts) < 0) goto fail;
    PyMem_Free(data);
    PyMem_Free(pending.data);
    PyMem_Free(current.data);
    PyObject *result = PyTuple_Pack(2, lines, counts);
    Py_DECREF(lines);
    Py_DECREF(counts);
    return result;
fail:
    PyMem_Free(data);
    PyMem_Free(pending.data);
    PyMem_Free(current.data);
    Py_XDECREF(lines);
    Py_XDECREF(counts);
    return NULL;
}

static PyObject *line_keys(PyObject *self, PyObject *args) {
    PyObject *folded;
    if (!PyArg_ParseTuple(args, "U", &folded)) return NULL;
    Py_ssize_t n;
    Py_UCS4 *data = as_ucs4(folded, &n);
    if (!data) return NULL;
    PyObject *keys = PyList_New(0);
    Buffer key = {0};
    if (!keys || buffer_reserve(&key, n + 1) < 0) goto fail;
    Py_ssize_t i = 0;
    while (1) {
        key.size = 0;
        int in_word = 0;
        for (; i < n; i++) {
            Py_UCS4 c = data[i];
            if (c == '\n') break;
            if (is_word(c)) {
                if (!in_word && key.size) key.data[key.size++] = ' ';
                key.data[key.size++] = c;
                in_word = 1;
            } else {
                in_word = 0;
            }
        }
        PyObject *item = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, key.data, key.size);
        if (!item) goto fail;
        int failed = PyList_Append(keys, item) < 0;
        Py_DECREF(item);
        if (failed) goto fail;
        if (i >= n) break;
        i++; /* past the '\n' */
    }
    PyMem_Free(data);
    PyMem_Free(key.data);
    return keys;
fail:
    PyMem_Free(data);
    PyMem_Free(key.data);
    Py_XDECREF(keys);
    return NULL;
}

/* 4-word shingles of keys, compared exactly (a hash picks the slot, the words decide). */
#define SHINGLE 4

typedef struct {
    uint64_t hash; /* 0: empty slot */
    int kind;
    const void *data;
    Py_ssize_t start, end; /* the shingle "w1 w2 w3 w4" within its key */
    Py_ssize_t stamp;      /* line-local tables: the line that filled the slot */
} Slot;

typedef struct {
    Slot *slots;
    Py_ssize_t capacity; /* power of two */
    Py_ssize_t used;
} Table;

static inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static int same_text(const Slot *a, const Slot *b) {
    Py_ssize_t length = a->end - a->start;
    if (length != b->end - b->start) return 0;
    for (Py_ssize_t k = 0; k < length; k++)
        if (PyUnicode_READ(a->kind, a->data, a->start + k) != PyUnicode_READ(b->kind, b->data, b->start + k)) return 0;
    return 1;
}

static int table_init(Table *t, Py_ssize_t capacity) {
    t->slots = PyMem_Calloc((size_t)capacity, sizeof(Slot));
    if (!t->slots) {
        PyErr_NoMemory();
        return -1;
    }
    t->capacity = capacity;
    t->used = 0;
    return 0;
}

/* The slot holding `s`, or the empty (or stale, for stamped tables) slot where it goes. */
static Slot *table_find(Table *t, const Slot *s, Py_ssize_t stamp) {
    Py_ssize_t mask = t->capacity - 1, at = (Py_ssize_t)(s->hash & (uint64_t)mask);
    while (1) {
        Slot *slot = &t->slots[at];
        if (slot->hash == 0 || slot->stamp != stamp) return slot;
        if (slot->hash == s->hash && same_text(slot, s)) return slot;
        at = (at + 1) & mask;
    }
}

static int table_grow(Table *t) {
    Table bigger;
    if (table_init(&bigger, t->capacity * 2) < 0) return -1;
    for (Py_ssize_t k = 0; k < t->capacity; k++)
        if (t->slots[k].hash) *table_find(&bigger, &t->slots[k], 0) = t->slots[k];
    bigger.used = t->used;
    PyMem_Free(t->slots);
    *t = bigger;
    return 0;
}

static PyObject *repeated_lines(PyObject *self, PyObject *args) {
    PyObject *keys, *candidates;
    Py_ssize_t min_shingles;
    double containment;
    if (!PyArg_ParseTuple(args, "O!O!nd", &PyList_Type, &keys, &PyList_Type, &candidates, &min_shingles, &containment)) return NULL;
    PyObject *marked = PyList_New(0);
    Table seen = {0}, line = {0};
    Slot *shingles = NULL;                  /* this line's distinct shingles */
    Py_ssize_t *starts = NULL, *ends = NULL; /* word spans */
    uint64_t *hashes = NULL;                 /* word hashes */
    Py_ssize_t room = 0;                     /* words the arrays above can hold */
    if (!marked || table_init(&seen, 1024) < 0 || table_init(&line, 64) < 0) goto fail;
    Py_ssize_t count = PyList_GET_SIZE(candidates);
    for (Py_ssize_t c = 0; c < count; c++) {
        Py_ssize_t index = PyLong_AsSsize_t(PyList_GET_ITEM(candidates, c));
        if (index == -1 && PyErr_Occurred()) goto fail;
        if (index < 0 || index >= PyList_GET_SIZE(keys)) {
            PyErr_SetString(PyExc_IndexError, "candidate line out of range");
            goto fail;
        }
        PyObject *key = PyList_GET_ITEM(keys, index);
        if (!PyUnicode_Check(key)) {
            PyErr_SetString(PyExc_TypeError, "keys must be str");
            goto fail;
        }
        int kind = PyUnicode_KIND(key);
        const void *data = PyUnicode_DATA(key);
        Py_ssize_t n = PyUnicode_GET_LENGTH(key);
        if (n / 2 + 1 > room) { /* words are separated by spaces: at most n / 2 + 1 of them */
            room = n / 2 + 1;
            PyMem_Free(shingles);
            PyMem_Free(starts);
            PyMem_Free(hashes);
            shingles = PyMem_Malloc((size_t)room * sizeof(Slot));
            starts = PyMem_Malloc((size_t)room * 2 * sizeof(Py_ssize_t));
            hashes = PyMem_Malloc((size_t)room * sizeof(uint64_t));
            if (!shingles || !starts || !hashes) {
                PyErr_NoMemory();
                goto fail;
            }
            ends = starts + room;
        }
        /* Words are runs without spaces (keys are single-spaced): their spans and hashes. */
        Py_ssize_t words = 0;
        for (Py_ssize_t k = 0; k < n;) {
            if (PyUnicode_READ(kind, data, k) == ' ') {
                k++;
                continue;
            }
            uint64_t h = 0xCBF29CE484222325ULL;
            starts[words] = k;
            for (; k < n; k++) {
                Py_UCS4 ch = PyUnicode_READ(kind, data, k);
                if (ch == ' ') break;
                h = (h ^ ch) * 0x100000001B3ULL;
            }
            ends[words] = k;
            hashes[words++] = mix64(h);
        }
        Py_ssize_t total = words >= SHINGLE ? words - SHINGLE + 1 : 0;
        if (line.capacity < 2 * total + 2) {
            Py_ssize_t capacity = line.capacity;
            while (capacity < 2 * total + 2) capacity *= 2;
            PyMem_Free(line.slots);
            if (table_init(&line, capacity) < 0) goto fail;
        }
        /* Distinct shingles of this line, and how many of them were seen in earlier lines. */
        Py_ssize_t distinct = 0, repeated = 0, stamp = c + 1;
        for (Py_ssize_t s = 0; s < total; s++) {
            /* word hashes are mixed already: rotations keep the order of the words */
            uint64_t h = mix64(hashes[s] ^ rotl(hashes[s + 1], 16) ^ rotl(hashes[s + 2], 32) ^ rotl(hashes[s + 3], 48));
            Slot probe = {h ? h : 1, kind, data, starts[s], ends[s + SHINGLE - 1], stamp};
            Slot *slot = table_find(&line, &probe, stamp);
            if (slot->hash && slot->stamp == stamp) continue; /* already counted for this line */
            *slot = probe;
            repeated += table_find(&seen, &probe, 0)->hash != 0;
            shingles[distinct++] = probe;
        }
        if (distinct >= min_shingles && (double)repeated / (double)distinct >= containment) {
            PyObject *item = PyLong_FromSsize_t(index);
            int failed = !item || PyList_Append(marked, item) < 0;
            Py_XDECREF(item);
            if (failed) goto fail;
            continue;
        }
        for (Py_ssize_t s = 0; s < distinct; s++) {
            shingles[s].stamp = 0;
            Slot *slot = table_find(&seen, &shingles[s], 0);
            if (slot->hash) continue;
            *slot = shingles[s];
            if (++seen.used * 2 > seen.capacity && table_grow(&seen) < 0) goto fail;
        }
    }
    PyMem_Free(seen.slots);
    PyMem_Free(line.slots);
    PyMem_Free(shingles);
    PyMem_Free(starts);
    PyMem_Free(hashes);
    return marked;
fail:
    PyMem_Free(seen.slots);
    PyMem_Free(line.slots);
    PyMem_Free(shingles);
    PyMem_Free(starts);
    PyMem_Free(hashes);
    Py_XDECREF(marked);
    return NULL;
}

/* Aho-Corasick over code points: a trie of the needles with failure links; one pass over a
 * text finds every needle on every line. */
typedef struct {
    Py_UCS4 ch;
    int32_t to;
} Edge;

typedef struct {
    Edge *edges;
    int32_t count, capacity;
    int32_t fail;   /* longest proper suffix that is a trie node */
    int32_t needle; /* needle ending here, or -1 */
    int32_t output; /* nearest node on the failure chain where a needle ends, or 0 */
} Node;

typedef struct {
    Node *nodes;
    int32_t count, capacity;
    int32_t root_ascii[128]; /* transitions from the root for ASCII (0: stay at the root) */
    Py_ssize_t needles;
} Automaton;

#define AUTOMATON_NAME "pipeline.clean._lines.Automaton"

static void automaton_free(Automaton *a) {
    if (!a) return;
    for (int32_t k = 0; k < a->count; k++) PyMem_Free(a->nodes[k].edges);
    PyMem_Free(a->nodes);
    PyMem_Free(a);
}

static void automaton_capsule_free(PyObject *capsule) { automaton_free(PyCapsule_GetPointer(capsule, AUTOMATON_NAME)); }

static int32_t child_of(const Node *node, Py_UCS4 ch) {
    for (int32_t k = 0; k < node->count; k++)
        if (node->edges[k].ch == ch) return node->edges[k].to;
    return 0;
}

static int32_t add_node(Automaton *a) {
    if (a->count == a->capacity) {
        int32_t capacity = a->capacity ? a->capacity * 2 : 64;
        Node *nodes = PyMem_Realloc(a->nodes, (size_t)capacity * sizeof(Node));
        if (!nodes) return -1;
        a->nodes = nodes;
        a->capacity = capacity;
    }
    Node *node = &a->nodes[a->count];
    memset(node, 0, sizeof(Node));
    node->needle = -1;
    return a->count++;
}

static int add_edge(Automaton *a, int32_t from, Py_UCS4 ch, int32_t to) {
    Node *node = &a->nodes[from];
    if (node->count == node->capacity) {
        int32_t capacity = node->capacity ? node->capacity * 2 : 2;
        Edge *edges = PyMem_Realloc(node->edges, (size_t)capacity * sizeof(Edge));
        if (!edges) return -1;
        node->edges = edges;
        node->capacity = capacity;
    }
    node->edges[node->count++] = (Edge){ch, to};
    return 0;
}

static PyObject *needles(PyObject *self, PyObject *args) {
    PyObject *list;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &list)) return NULL;
    Automaton *a = PyMem_Calloc(1, sizeof(Automaton));
    int32_t *queue = NULL;
    if (!a || add_node(a) < 0) goto nomemory;
    a->needles = PyList_GET_SIZE(list);
    for (Py_ssize_t i = 0; i < a->needles; i++) {
        PyObject *needle = PyList_GET_ITEM(list, i);
        if (!PyUnicode_Check(needle) || PyUnicode_GET_LENGTH(needle) == 0) {
            PyErr_SetString(PyExc_ValueError, "needles must be non-empty str");
            goto fail;
        }
        int kind = PyUnicode_KIND(needle);
        const void *data = PyUnicode_DATA(needle);
        int32_t at = 0;
        for (Py_ssize_t k = 0; k < PyUnicode_GET_LENGTH(needle); k++) {
            Py_UCS4 ch = PyUnicode_READ(kind, data, k);
            if (ch == '\n') {
                PyErr_SetString(PyExc_ValueError, "needles must not contain line breaks");
                goto fail;
            }
            int32_t next = child_of(&a->nodes[at], ch);
            if (!next) {
                if ((next = add_node(a)) < 0 || add_edge(a, at, ch, next) < 0) goto nomemory;
            }
            at = next;
        }
        if (a->nodes[at].needle >= 0) {
            PyErr_SetString(PyExc_ValueError, "needles must be distinct");
            goto fail;
        }
        a->nodes[at].needle = (int32_t)i;
    }
    /* Failure and output links, breadth first. */
    queue = PyMem_Malloc((size_t)a->count * sizeof(int32_t));
    if (!queue) goto nomemory;
    int32_t head = 0, tail = 0;
    for (int32_t k = 0; k < a->nodes[0].count; k++) {
        Edge e = a->nodes[0].edges[k];
        a->nodes[e.to].fail = 0;
        queue[tail++] = e.to;
        if (e.ch < 128) a->root_ascii[e.ch] = e.to;
    }
    while (head < tail) {
        int32_t at = queue[head++];
        for (int32_t k = 0; k < a->nodes[at].count; k++) {
            Edge e = a->nodes[at].edges[k];
            int32_t f = a->nodes[at].fail, next;
            while (!(next = child_of(&a->nodes[f], e.ch)) && f) f = a->nodes[f].fail;
            a->nodes[e.to].fail = next;
            a->nodes[e.to].output = a->nodes[next].needle >= 0 ? next : a->nodes[next].output;
            queue[tail++] = e.to;
        }
    }
    PyMem_Free(queue);
    PyObject *capsule = PyCapsule_New(a, AUTOMATON_NAME, automaton_capsule_free);
    if (!capsule) automaton_free(a);
    return capsule;
nomemory:
    PyErr_NoMemory();
fail:
    PyMem_Free(queue);
    automaton_free(a);
    return NULL;
}

static PyObject *find_needles(PyObject *self, PyObject *args) {
    PyObject *capsule, *text;
    if (!PyArg_ParseTuple(args, "OU", &capsule, &text)) return NULL;
    Automaton *a = PyCapsule_GetPointer(capsule, AUTOMATON_NAME);
    if (!a) return NULL;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), line = 0;
    Py_ssize_t *last_line = PyMem_Malloc((size_t)(a->needles + 1) * sizeof(Py_ssize_t));
    PyObject *found = PyList_New(0);
    if (!last_line || !found) {
        PyMem_Free(last_line);
        Py_XDECREF(found);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t k = 0; k < a->needles; k++) last_line[k] = -1;
    const Node *nodes = a->nodes;
    int32_t state = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (ch == '\n') {
            line++;
            state = 0;
            continue;
        }
        int32_t next;
        while (!(next = (state == 0 && ch < 128) ? a->root_ascii[ch] : child_of(&nodes[state], ch)) && state) state = nodes[state].fail;
        state = next;
        for (int32_t out = nodes[state].needle >= 0 ? state : nodes[state].output; out; out = nodes[out].output) {
            int32_t needle = nodes[out].needle;
            if (last_line[needle] == line) continue; /* once per line */
            last_line[needle] = line;
            PyObject *pair = Py_BuildValue("(nn)", line, (Py_ssize_t)needle);
            int failed = !pair || PyList_Append(found, pair) < 0;
            Py_XDECREF(pair);
            if (failed) {
                PyMem_Free(last_line);
                Py_DECREF(found);
                return NULL;
            }
        }
    }
    PyMem_Free(last_line);
    return found;
}

static PyMethodDef METHODS[] = {
    {"split_lines", split_lines, METH_VARARGS, "Non-empty lines, spacing normalised and hard wraps joined, with their word counts."},
    {"line_keys", line_keys, METH_VARARGS, "Keys of '\\n'-separated case-folded lines: their words, one space apart."},
    {"needles", needles, METH_VARARGS, "An automaton that finds the given distinct strings (for find_needles)."},
    {"find_needles", find_needles, METH_VARARGS, "(line, needle index) for every needle on every line of a text (lines end at \\n), once per line."},
    {"repeated_lines", repeated_lines, METH_VARARGS, "Candidate lines whose 4-word shingles mostly appeared in earlier candidates."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {PyModuleDef_HEAD_INIT, "_lines", "Per-line work of the text cleaner.", -1, METHODS};

PyMODINIT_FUNC PyInit__lines(void) {
    for (int c = 0; c < 128; c++) ASCII_WORD[c] = (char)(Py_UNICODE_ISALNUM((Py_UCS4)c) || c == '_');
    return PyModule_Create(&MODULE);
}
