/* Sketches of texts for near-duplicate detection: sampled hashes of character grams.
 *
 * A text is folded to a stream of letters and digits (case, accents, punctuation and spacing
 * removed; characters that OCR confuses mapped to one letter), every GRAM consecutive characters
 * are hashed (a polynomial rolling hash), the grams whose hash falls in the lowest 1/MODULUS of
 * the range are kept, and their hashes, finalised by a 64-bit mixer, are the sketch (sorted, unique). The same gram
 * is kept or dropped in every text, so the overlap of two sketches is a sample of the overlap
 * of the texts: containment and Jaccard can be estimated from sketches alone.
 * pipeline/dedup/sketch.py holds the same algorithm in Python (the reference and the fallback).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GRAM 64

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBULL;
    x ^= x >> 31;
    return x;
}

/* Latin-1 letters U+00C0..U+00FF to their ASCII base letter (0: drop). */
static const char LATIN1[64] = "aaaaaaaceeeeiiiidnooooo ouuuuyts" "aaaaaaaceeeeiiiidnooooo ouuuuyty";

/* ASCII folding: lower case; OCR confusions 0->o, 1/i -> l, c -> e; other bytes dropped. */
static char ASCII_FOLD[128];
static char ASCII_WORD[128];
static uint64_t ASCII_MIXED[128];

static void init_fold(void) {
    for (int c = 0; c < 128; c++) {
        char out = 0;
        if (c >= 'a' && c <= 'z') out = (char)c;
        else if (c >= 'A' && c <= 'Z') out = (char)(c - 'A' + 'a');
        else if (c >= '0' && c <= '9') out = (char)c;
        if (out == '0') out = 'o';
        if (out == '1' || out == 'i') out = 'l';
        if (out == 'c') out = 'e';
        ASCII_FOLD[c] = out;
        ASCII_WORD[c] = (char)((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
        ASCII_MIXED[c] = mix64((uint64_t)c);
    }
}

typedef struct {
    const void *data; /* the str's own code units (1, 2 or 4 bytes each): read without the GIL */
    int kind;
    Py_ssize_t size;
    uint64_t *samples; /* output, sorted unique */
    Py_ssize_t count;
    Py_ssize_t words;
    uint64_t whole; /* hash of the whole folded stream: equal for copies that differ only in folding */
    int failed;
} Job;

/* The folded value of a code point (0: dropped) and whether it belongs to a word. */
static inline int64_t fold_cp(Py_UCS4 cp, int *is_word) {
    if (cp < 0x80) { *is_word = ASCII_WORD[cp]; return ASCII_FOLD[cp]; }
    if (cp < 0xC0 || (cp >= 0x2000 && cp <= 0x206F) || (cp >= 0x3000 && cp <= 0x303F)) { *is_word = 0; return 0; }
    *is_word = 1;
    if (cp <= 0xFF) {
        char c = LATIN1[cp - 0xC0];
        return c == ' ' ? 0 : (c == 'c' ? 'e' : (c == 'i' ? 'l' : c));
    }
    return (int64_t)cp;
}

static void sort_u64(uint64_t *a, Py_ssize_t n) {
    while (n > 16) {
        uint64_t x = a[0], y = a[n / 2], z = a[n - 1];
        uint64_t pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        Py_ssize_t i = 0, j = n - 1;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) { uint64_t t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
        }
        if (j + 1 < n - i) { sort_u64(a, j + 1); a += i; n -= i; }
        else { sort_u64(a + i, n - i); n = j + 1; }
    }
    for (Py_ssize_t i = 1; i < n; i++) {
        uint64_t v = a[i];
        Py_ssize_t k = i;
        while (k > 0 && a[k - 1] > v) { a[k] = a[k - 1]; k--; }
        a[k] = v;
    }
}

static void sketch_one(Job *job, int gram, uint64_t modulus) {
    Py_ssize_t n = job->size, length = 0, words = 0;
    uint64_t *mixed = malloc(sizeof(uint64_t) * (size_t)(n + 1));
    Py_ssize_t capacity = n / (Py_ssize_t)modulus + 2 * n / 1000 + 16, count = 0;
    uint64_t *out = malloc(sizeof(uint64_t) * (size_t)capacity);
    if (!mixed || !out) { free(mixed); free(out); job->failed = 1; return; }
    int in_word = 0;
    int64_t last = 0;
    for (Py_ssize_t pos = 0; pos < n; pos++) {
        int is_word;
        int64_t c = fold_cp(PyUnicode_READ(job->kind, job->data, pos), &is_word);
        if (is_word && !in_word) words++;
        in_word = is_word;
        if (c <= 0) continue;
        /* OCR digraphs: rn -> m, vv -> w. */
        if (length > 0 && ((last == 'r' && c == 'n') || (last == 'v' && c == 'v'))) {
            last = c == 'n' ? 'm' : 'w';
            mixed[length - 1] = mix64((uint64_t)last);
            continue;
        }
        last = c;
        mixed[length++] = c < 128 ? ASCII_MIXED[c] : mix64((uint64_t)c);
    }
    const uint64_t base = 0x100000001B3ULL, limit = UINT64_MAX / modulus;
    uint64_t hash = 0, power = 1, whole = 0;
    for (int k = 1; k < gram; k++) power *= base;
    for (Py_ssize_t i = 0; i < length; i++) {
        whole = whole * base + mixed[i];
        if (i >= gram) hash -= mixed[i - gram] * power;
        hash = hash * base + mixed[i];
        if (hash <= limit && i + 1 >= gram) {
            if (count == capacity) {
                capacity *= 2;
                uint64_t *grown = realloc(out, sizeof(uint64_t) * (size_t)capacity);
                if (!grown) { free(out); free(mixed); job->failed = 1; return; }
                out = grown;
            }
            out[count++] = mix64(hash);
        }
    }
    if (length > 0 && length < gram) out[count++] = mix64(hash); /* a text shorter than one gram */
    free(mixed);
    sort_u64(out, count);
    Py_ssize_t unique = 0;
    for (Py_ssize_t k = 0; k < count; k++)
        if (unique == 0 || out[unique - 1] != out[k]) out[unique++] = out[k];
    job->samples = out;
    job->count = unique;
    job->words = words;
    job->whole = mix64(whole ^ (uint64_t)length);
}

/* sketch_many(texts: list[str], gram: int, modulus: int) -> list[tuple[bytes, int, int]]
 * One (sorted unique sampled hashes as native uint64, word count, hash of the whole folded text) per text. The hashing runs without the GIL,
 * so two threads can sketch two halves of a batch at once. */
static PyObject *sketch_many(PyObject *self, PyObject *args) {
    PyObject *list;
    int gram;
    unsigned long long modulus;
    if (!PyArg_ParseTuple(args, "O!iK", &PyList_Type, &list, &gram, &modulus)) return NULL;
    if (gram < 1 || gram > MAX_GRAM || modulus < 1) {
        PyErr_Format(PyExc_ValueError, "gram must be 1..%d and modulus >= 1", MAX_GRAM);
        return NULL;
    }
    /* A tuple of the list's items holds a reference to every str while the hashing reads them
     * without the GIL: another thread may change the list meanwhile. */
    PyObject *texts = PyList_AsTuple(list);
    if (!texts) return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(texts);
    Job *jobs = calloc((size_t)(n ? n : 1), sizeof(Job));
    if (!jobs) { Py_DECREF(texts); return PyErr_NoMemory(); }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(texts, i);
        if (!PyUnicode_Check(item)) {
            free(jobs);
            PyErr_Format(PyExc_TypeError, "texts[%zd] is %s, not str", i, Py_TYPE(item)->tp_name);
            Py_DECREF(texts);
            return NULL;
        }
        if (PyUnicode_READY(item) < 0) { free(jobs); Py_DECREF(texts); return NULL; }
        jobs[i].kind = PyUnicode_KIND(item);
        jobs[i].data = PyUnicode_DATA(item);
        jobs[i].size = PyUnicode_GET_LENGTH(item);
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) sketch_one(&jobs[i], gram, (uint64_t)modulus);
    Py_END_ALLOW_THREADS
    Py_DECREF(texts);
    PyObject *result = PyList_New(n);
    int failed = result == NULL;
    for (Py_ssize_t i = 0; i < n && !failed; i++) {
        if (jobs[i].failed) { failed = 1; break; }
        PyObject *hashes = PyBytes_FromStringAndSize((const char *)jobs[i].samples, (Py_ssize_t)(jobs[i].count * sizeof(uint64_t)));
        if (!hashes) { failed = 1; break; }
        PyObject *item = Py_BuildValue("(NnK)", hashes, jobs[i].words, (unsigned long long)jobs[i].whole);
        if (!item) { failed = 1; break; }
        PyList_SET_ITEM(result, i, item);
    }
    for (Py_ssize_t i = 0; i < n; i++) free(jobs[i].samples);
    free(jobs);
    if (failed) {
        Py_XDECREF(result);
        if (!PyErr_Occurred()) PyErr_NoMemory();
        return NULL;
    }
    return result;
}


/* ---- clustering: documents in canonical order, each verified against the canonical copies ---- */

typedef struct { uint64_t key; int32_t head; int32_t count; } Slot; /* count < 0: a stock sample */
typedef struct { int32_t leader; int32_t next; } Node;

typedef struct {
    Slot *slots;
    size_t mask;
    size_t used;
} Table;

static int table_init(Table *t, size_t expected) {
    size_t size = 1024;
    while (size < expected * 2) size <<= 1;
    t->slots = malloc(sizeof(Slot) * size);
    if (!t->slots) return -1;
    for (size_t i = 0; i < size; i++) { t->slots[i].key = 0; t->slots[i].head = -2; t->slots[i].count = 0; }
    t->mask = size - 1;
    t->used = 0;
    return 0;
}

/* The slot of key; created empty (head -1) when create is set. head -2 marks a free slot. */
static Slot *table_get(Table *t, uint64_t key, int create) {
    size_t i = (size_t)(key * 0x9E3779B97F4A7C15ULL >> 17) & t->mask;
    while (t->slots[i].head != -2) {
        if (t->slots[i].key == key) return &t->slots[i];
        i = (i + 1) & t->mask;
    }
    if (!create) return NULL;
    t->slots[i].key = key;
    t->slots[i].head = -1;
    t->slots[i].count = 0;
    t->used++;
    return &t->slots[i];
}

static int table_grow(Table *t) {
    if ((t->used + 1) * 2 < t->mask + 1) return 0;
    Table bigger;
    if (table_init(&bigger, (t->mask + 1)) < 0) return -1;
    for (size_t i = 0; i <= t->mask; i++) {
        if (t->slots[i].head == -2) continue;
        Slot *slot = table_get(&bigger, t->slots[i].key, 1);
        *slot = t->slots[i];
    }
    free(t->slots);
    *t = bigger;
    return 0;
}

static Py_ssize_t intersect(const uint64_t *a, Py_ssize_t na, const uint64_t *b, Py_ssize_t nb) {
    Py_ssize_t i = 0, j = 0, shared = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j]) i++;
        else if (a[i] > b[j]) j++;
        else { shared++; i++; j++; }
    }
    return shared;
}

typedef struct { int32_t count; int32_t leader; } Ranked;

static int cmp_ranked(const void *x, const void *y) {
    const Ranked *a = x, *b = y;
    if (a->count != b->count) return b->count - a->count;
    return (a->leader > b->leader) - (a->leader < b->leader);
}

/* cluster_sorted(samples: list[bytes], wholes: list[int], containment: float, full_copy: float,
 *                min_shared: int, candidate_posting: int, max_candidates: int, key_modulus: int)
 *     -> list[tuple[int, float, int]]
 * Only the sketch hashes divisible by key_modulus are index keys (candidates); verification uses whole sketches.
 * Documents come in canonical order. Per document: (position of its canonical copy, similarity,
 * method: 0 canonical, 1 exact, 2 jaccard, 3 containment). Same algorithm as cluster.py. */
static PyObject *cluster_sorted(PyObject *self, PyObject *args) {
    PyObject *samples_given, *wholes_list;
    double containment, full_copy;
    int min_shared, candidate_posting, max_candidates;
    unsigned long long key_modulus;
    if (!PyArg_ParseTuple(args, "O!O!ddiiiK", &PyList_Type, &samples_given, &PyList_Type, &wholes_list, &containment, &full_copy, &min_shared, &candidate_posting, &max_candidates, &key_modulus))
        return NULL;
    if (max_candidates < 1 || candidate_posting < 1 || key_modulus < 1) { PyErr_SetString(PyExc_ValueError, "max_candidates, candidate_posting and key_modulus must be >= 1"); return NULL; }
    /* The tuple keeps every bytes object alive while the clustering reads them without the GIL. */
    PyObject *samples_list = PyList_AsTuple(samples_given);
    if (!samples_list) return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(samples_list);
    if (PyList_GET_SIZE(wholes_list) != n) { Py_DECREF(samples_list); PyErr_SetString(PyExc_ValueError, "samples and wholes differ in length"); return NULL; }
    const uint64_t **samples = malloc(sizeof(uint64_t *) * (size_t)(n + 1));
    Py_ssize_t *sizes = malloc(sizeof(Py_ssize_t) * (size_t)(n + 1));
    uint64_t *wholes = malloc(sizeof(uint64_t) * (size_t)(n + 1));
    int32_t *leader_of = malloc(sizeof(int32_t) * (size_t)(n + 1));
    int32_t *leaders = malloc(sizeof(int32_t) * (size_t)(n + 1)); /* leader number -> document position */
    double *similarity = malloc(sizeof(double) * (size_t)(n + 1));
    char *method = malloc((size_t)(n + 1));
    int32_t *shared = calloc((size_t)(n + 1), sizeof(int32_t));
    int32_t *touched = malloc(sizeof(int32_t) * (size_t)(n + 1));
    Ranked *ranked = malloc(sizeof(Ranked) * (size_t)(max_candidates > 0 ? max_candidates : 1));
    size_t total = 0;
    int ok = samples && sizes && wholes && leader_of && leaders && similarity && method && shared && touched && ranked;
    for (Py_ssize_t i = 0; ok && i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(samples_list, i);
        if (!PyBytes_Check(item) || PyBytes_GET_SIZE(item) % 8) { PyErr_SetString(PyExc_TypeError, "samples must be bytes of uint64"); ok = 0; break; }
        samples[i] = (const uint64_t *)PyBytes_AS_STRING(item);
        sizes[i] = PyBytes_GET_SIZE(item) / 8;
        total += (size_t)sizes[i];
        wholes[i] = PyLong_AsUnsignedLongLong(PyList_GET_ITEM(wholes_list, i));
        if (PyErr_Occurred()) ok = 0;
    }
    Table postings = {0}, exact = {0};
    Node *nodes = NULL;
    size_t node_count = 0, node_capacity = total / 2 + 1024;
    if (ok) ok = table_init(&postings, (size_t)n * 8 + 16) == 0 && table_init(&exact, (size_t)n + 16) == 0 && (nodes = malloc(sizeof(Node) * node_capacity)) != NULL;
    if (!ok) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    int32_t leader_count = 0;
    for (Py_ssize_t d = 0; d < n && ok; d++) {
        Slot *same = table_get(&exact, wholes[d], 0);
        if (same) { leader_of[d] = leaders[same->count]; similarity[d] = 1.0; method[d] = 1; continue; }
        const uint64_t *mine = samples[d];
        Py_ssize_t size = sizes[d], touched_count = 0;
        for (Py_ssize_t k = 0; k < size; k++) {
            if (mine[k] % key_modulus) continue;
            Slot *slot = table_get(&postings, mine[k], 0);
            if (!slot || slot->count < 0) continue;
            for (int32_t node = slot->head; node >= 0; node = nodes[node].next) {
                int32_t l = nodes[node].leader;
                if (shared[l]++ == 0) touched[touched_count++] = l;
            }
        }
        /* The max_candidates canonical copies sharing the most samples (ties: the earlier copy). */
        Py_ssize_t ranked_count = 0;
        for (Py_ssize_t k = 0; k < touched_count; k++) {
            int32_t l = touched[k], count = shared[l];
            shared[l] = 0;
            if (touched_count > max_candidates && count < 2) continue;
            Ranked item = {count, l};
            if (ranked_count == max_candidates && cmp_ranked(&item, &ranked[ranked_count - 1]) >= 0) continue;
            Py_ssize_t at = ranked_count < max_candidates ? ranked_count++ : ranked_count - 1;
            while (at > 0 && cmp_ranked(&item, &ranked[at - 1]) < 0) { ranked[at] = ranked[at - 1]; at--; }
            ranked[at] = item;
        }
        int32_t best = -1;
        double best_score = 0.0;
        char best_method = 0;
        for (Py_ssize_t k = 0; k < ranked_count; k++) {
            int32_t position = leaders[ranked[k].leader];
            Py_ssize_t other = sizes[position], smaller = size < other ? size : other;
            if (!smaller) continue;
            Py_ssize_t common = intersect(mine, size, samples[position], other);
            if (common < (min_shared < smaller ? min_shared : smaller) || (double)common / (double)smaller < containment) continue;
            double jaccard = (double)common / (double)(size + other - common);
            double score = jaccard >= full_copy ? jaccard : (double)common / (double)smaller;
            if (best < 0 || score > best_score) { best = position; best_score = score; best_method = jaccard >= full_copy ? 2 : 3; }
        }
        if (best >= 0) { leader_of[d] = best; similarity[d] = best_score; method[d] = best_method; continue; }
        int32_t number = leader_count++;
        leaders[number] = (int32_t)d;
        leader_of[d] = (int32_t)d; similarity[d] = 1.0; method[d] = 0;
        if (table_grow(&exact) < 0) { ok = 0; break; }
        Slot *slot = table_get(&exact, wholes[d], 1);
        slot->count = number;
        for (Py_ssize_t k = 0; k < size; k++) {
            if (mine[k] % key_modulus) continue;
            if (table_grow(&postings) < 0) { ok = 0; break; }
            slot = table_get(&postings, mine[k], 1);
            if (slot->count < 0) continue;
            if (slot->count >= candidate_posting) { slot->count = -1; continue; }
            if (node_count == node_capacity) {
                node_capacity *= 2;
                Node *grown = realloc(nodes, sizeof(Node) * node_capacity);
                if (!grown) { ok = 0; break; }
                nodes = grown;
            }
            /* Append at the tail so postings list canonical copies in order (matches cluster.py). */
            nodes[node_count].leader = number;
            nodes[node_count].next = -1;
            if (slot->head < 0) slot->head = (int32_t)node_count;
            else {
                int32_t tail = slot->head;
                while (nodes[tail].next >= 0) tail = nodes[tail].next;
                nodes[tail].next = (int32_t)node_count;
            }
            node_count++;
            slot->count++;
        }
    }
    Py_END_ALLOW_THREADS
    PyObject *result = NULL;
    if (!ok) { PyErr_NoMemory(); goto done; }
    result = PyList_New(n);
    for (Py_ssize_t d = 0; result && d < n; d++) {
        PyObject *item = Py_BuildValue("(ndi)", (Py_ssize_t)leader_of[d], similarity[d], (int)method[d]);
        if (!item) { Py_CLEAR(result); break; }
        PyList_SET_ITEM(result, d, item);
    }
    if (!result) ok = 0;
done:
    free(postings.slots); free(exact.slots); free(nodes);
    free(samples); free(sizes); free(wholes); free(leader_of); free(leaders); free(similarity); free(method);
    free(shared); free(touched); free(ranked);
    Py_DECREF(samples_list);
    return ok ? result : NULL;
}

static PyMethodDef METHODS[] = {
    {"sketch_many", sketch_many, METH_VARARGS, "Sampled character-gram hashes and word counts of texts."},
    {"cluster_sorted", cluster_sorted, METH_VARARGS, "Near-duplicate clusters of sketches given in canonical order."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {PyModuleDef_HEAD_INIT, "_sketch", "Text sketches for near-duplicate detection.", -1, METHODS};

PyMODINIT_FUNC PyInit__sketch(void) {
    init_fold();
    return PyModule_Create(&MODULE);
}
