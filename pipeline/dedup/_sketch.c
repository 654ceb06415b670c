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

#include "mix64.h"

#define MAX_GRAM 64

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

/* Nonspacing combining marks (general category Mn), Unicode 14.0.0, as unicodedata of the
 * Python this module is built for reports them: tests/dedup/test_near.py checks the two agree. */
static const uint32_t COMBINING[][2] = {
    {0x300, 0x36F}, {0x483, 0x487}, {0x591, 0x5BD}, {0x5BF, 0x5BF}, {0x5C1, 0x5C2}, {0x5C4, 0x5C5},
    {0x5C7, 0x5C7}, {0x610, 0x61A}, {0x64B, 0x65F}, {0x670, 0x670}, {0x6D6, 0x6DC}, {0x6DF, 0x6E4},
    {0x6E7, 0x6E8}, {0x6EA, 0x6ED}, {0x711, 0x711}, {0x730, 0x74A}, {0x7A6, 0x7B0}, {0x7EB, 0x7F3},
    {0x7FD, 0x7FD}, {0x816, 0x819}, {0x81B, 0x823}, {0x825, 0x827}, {0x829, 0x82D}, {0x859, 0x85B},
    {0x898, 0x89F}, {0x8CA, 0x8E1}, {0x8E3, 0x902}, {0x93A, 0x93A}, {0x93C, 0x93C}, {0x941, 0x948},
    {0x94D, 0x94D}, {0x951, 0x957}, {0x962, 0x963}, {0x981, 0x981}, {0x9BC, 0x9BC}, {0x9C1, 0x9C4},
    {0x9CD, 0x9CD}, {0x9E2, 0x9E3}, {0x9FE, 0x9FE}, {0xA01, 0xA02}, {0xA3C, 0xA3C}, {0xA41, 0xA42},
    {0xA47, 0xA48}, {0xA4B, 0xA4D}, {0xA51, 0xA51}, {0xA70, 0xA71}, {0xA75, 0xA75}, {0xA81, 0xA82},
    {0xABC, 0xABC}, {0xAC1, 0xAC5}, {0xAC7, 0xAC8}, {0xACD, 0xACD}, {0xAE2, 0xAE3}, {0xAFA, 0xAFF},
    {0xB01, 0xB01}, {0xB3C, 0xB3C}, {0xB3F, 0xB3F}, {0xB41, 0xB44}, {0xB4D, 0xB4D}, {0xB55, 0xB56},
    {0xB62, 0xB63}, {0xB82, 0xB82}, {0xBC0, 0xBC0}, {0xBCD, 0xBCD}, {0xC00, 0xC00}, {0xC04, 0xC04},
    {0xC3C, 0xC3C}, {0xC3E, 0xC40}, {0xC46, 0xC48}, {0xC4A, 0xC4D}, {0xC55, 0xC56}, {0xC62, 0xC63},
    {0xC81, 0xC81}, {0xCBC, 0xCBC}, {0xCBF, 0xCBF}, {0xCC6, 0xCC6}, {0xCCC, 0xCCD}, {0xCE2, 0xCE3},
    {0xD00, 0xD01}, {0xD3B, 0xD3C}, {0xD41, 0xD44}, {0xD4D, 0xD4D}, {0xD62, 0xD63}, {0xD81, 0xD81},
    {0xDCA, 0xDCA}, {0xDD2, 0xDD4}, {0xDD6, 0xDD6}, {0xE31, 0xE31}, {0xE34, 0xE3A}, {0xE47, 0xE4E},
    {0xEB1, 0xEB1}, {0xEB4, 0xEBC}, {0xEC8, 0xECD}, {0xF18, 0xF19}, {0xF35, 0xF35}, {0xF37, 0xF37},
    {0xF39, 0xF39}, {0xF71, 0xF7E}, {0xF80, 0xF84}, {0xF86, 0xF87}, {0xF8D, 0xF97}, {0xF99, 0xFBC},
    {0xFC6, 0xFC6}, {0x102D, 0x1030}, {0x1032, 0x1037}, {0x1039, 0x103A}, {0x103D, 0x103E}, {0x1058, 0x1059},
    {0x105E, 0x1060}, {0x1071, 0x1074}, {0x1082, 0x1082}, {0x1085, 0x1086}, {0x108D, 0x108D}, {0x109D, 0x109D},
    {0x135D, 0x135F}, {0x1712, 0x1714}, {0x1732, 0x1733}, {0x1752, 0x1753}, {0x1772, 0x1773}, {0x17B4, 0x17B5},
    {0x17B7, 0x17BD}, {0x17C6, 0x17C6}, {0x17C9, 0x17D3}, {0x17DD, 0x17DD}, {0x180B, 0x180D}, {0x180F, 0x180F},
    {0x1885, 0x1886}, {0x18A9, 0x18A9}, {0x1920, 0x1922}, {0x1927, 0x1928}, {0x1932, 0x1932}, {0x1939, 0x193B},
    {0x1A17, 0x1A18}, {0x1A1B, 0x1A1B}, {0x1A56, 0x1A56}, {0x1A58, 0x1A5E}, {0x1A60, 0x1A60}, {0x1A62, 0x1A62},
    {0x1A65, 0x1A6C}, {0x1A73, 0x1A7C}, {0x1A7F, 0x1A7F}, {0x1AB0, 0x1ABD}, {0x1ABF, 0x1ACE}, {0x1B00, 0x1B03},
    {0x1B34, 0x1B34}, {0x1B36, 0x1B3A}, {0x1B3C, 0x1B3C}, {0x1B42, 0x1B42}, {0x1B6B, 0x1B73}, {0x1B80, 0x1B81},
    {0x1BA2, 0x1BA5}, {0x1BA8, 0x1BA9}, {0x1BAB, 0x1BAD}, {0x1BE6, 0x1BE6}, {0x1BE8, 0x1BE9}, {0x1BED, 0x1BED},
    {0x1BEF, 0x1BF1}, {0x1C2C, 0x1C33}, {0x1C36, 0x1C37}, {0x1CD0, 0x1CD2}, {0x1CD4, 0x1CE0}, {0x1CE2, 0x1CE8},
    {0x1CED, 0x1CED}, {0x1CF4, 0x1CF4}, {0x1CF8, 0x1CF9}, {0x1DC0, 0x1DFF}, {0x20D0, 0x20DC}, {0x20E1, 0x20E1},
    {0x20E5, 0x20F0}, {0x2CEF, 0x2CF1}, {0x2D7F, 0x2D7F}, {0x2DE0, 0x2DFF}, {0x302A, 0x302D}, {0x3099, 0x309A},
    {0xA66F, 0xA66F}, {0xA674, 0xA67D}, {0xA69E, 0xA69F}, {0xA6F0, 0xA6F1}, {0xA802, 0xA802}, {0xA806, 0xA806},
    {0xA80B, 0xA80B}, {0xA825, 0xA826}, {0xA82C, 0xA82C}, {0xA8C4, 0xA8C5}, {0xA8E0, 0xA8F1}, {0xA8FF, 0xA8FF},
    {0xA926, 0xA92D}, {0xA947, 0xA951}, {0xA980, 0xA982}, {0xA9B3, 0xA9B3}, {0xA9B6, 0xA9B9}, {0xA9BC, 0xA9BD},
    {0xA9E5, 0xA9E5}, {0xAA29, 0xAA2E}, {0xAA31, 0xAA32}, {0xAA35, 0xAA36}, {0xAA43, 0xAA43}, {0xAA4C, 0xAA4C},
    {0xAA7C, 0xAA7C}, {0xAAB0, 0xAAB0}, {0xAAB2, 0xAAB4}, {0xAAB7, 0xAAB8}, {0xAABE, 0xAABF}, {0xAAC1, 0xAAC1},
    {0xAAEC, 0xAAED}, {0xAAF6, 0xAAF6}, {0xABE5, 0xABE5}, {0xABE8, 0xABE8}, {0xABED, 0xABED}, {0xFB1E, 0xFB1E},
    {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0x101FD, 0x101FD}, {0x102E0, 0x102E0}, {0x10376, 0x1037A}, {0x10A01, 0x10A03},
    {0x10A05, 0x10A06}, {0x10A0C, 0x10A0F}, {0x10A38, 0x10A3A}, {0x10A3F, 0x10A3F}, {0x10AE5, 0x10AE6}, {0x10D24, 0x10D27},
    {0x10EAB, 0x10EAC}, {0x10F46, 0x10F50}, {0x10F82, 0x10F85}, {0x11001, 0x11001}, {0x11038, 0x11046}, {0x11070, 0x11070},
    {0x11073, 0x11074}, {0x1107F, 0x11081}, {0x110B3, 0x110B6}, {0x110B9, 0x110BA}, {0x110C2, 0x110C2}, {0x11100, 0x11102},
    {0x11127, 0x1112B}, {0x1112D, 0x11134}, {0x11173, 0x11173}, {0x11180, 0x11181}, {0x111B6, 0x111BE}, {0x111C9, 0x111CC},
    {0x111CF, 0x111CF}, {0x1122F, 0x11231}, {0x11234, 0x11234}, {0x11236, 0x11237}, {0x1123E, 0x1123E}, {0x112DF, 0x112DF},
    {0x112E3, 0x112EA}, {0x11300, 0x11301}, {0x1133B, 0x1133C}, {0x11340, 0x11340}, {0x11366, 0x1136C}, {0x11370, 0x11374},
    {0x11438, 0x1143F}, {0x11442, 0x11444}, {0x11446, 0x11446}, {0x1145E, 0x1145E}, {0x114B3, 0x114B8}, {0x114BA, 0x114BA},
    {0x114BF, 0x114C0}, {0x114C2, 0x114C3}, {0x115B2, 0x115B5}, {0x115BC, 0x115BD}, {0x115BF, 0x115C0}, {0x115DC, 0x115DD},
    {0x11633, 0x1163A}, {0x1163D, 0x1163D}, {0x1163F, 0x11640}, {0x116AB, 0x116AB}, {0x116AD, 0x116AD}, {0x116B0, 0x116B5},
    {0x116B7, 0x116B7}, {0x1171D, 0x1171F}, {0x11722, 0x11725}, {0x11727, 0x1172B}, {0x1182F, 0x11837}, {0x11839, 0x1183A},
    {0x1193B, 0x1193C}, {0x1193E, 0x1193E}, {0x11943, 0x11943}, {0x119D4, 0x119D7}, {0x119DA, 0x119DB}, {0x119E0, 0x119E0},
    {0x11A01, 0x11A0A}, {0x11A33, 0x11A38}, {0x11A3B, 0x11A3E}, {0x11A47, 0x11A47}, {0x11A51, 0x11A56}, {0x11A59, 0x11A5B},
    {0x11A8A, 0x11A96}, {0x11A98, 0x11A99}, {0x11C30, 0x11C36}, {0x11C38, 0x11C3D}, {0x11C3F, 0x11C3F}, {0x11C92, 0x11CA7},
    {0x11CAA, 0x11CB0}, {0x11CB2, 0x11CB3}, {0x11CB5, 0x11CB6}, {0x11D31, 0x11D36}, {0x11D3A, 0x11D3A}, {0x11D3C, 0x11D3D},
    {0x11D3F, 0x11D45}, {0x11D47, 0x11D47}, {0x11D90, 0x11D91}, {0x11D95, 0x11D95}, {0x11D97, 0x11D97}, {0x11EF3, 0x11EF4},
    {0x16AF0, 0x16AF4}, {0x16B30, 0x16B36}, {0x16F4F, 0x16F4F}, {0x16F8F, 0x16F92}, {0x16FE4, 0x16FE4}, {0x1BC9D, 0x1BC9E},
    {0x1CF00, 0x1CF2D}, {0x1CF30, 0x1CF46}, {0x1D167, 0x1D169}, {0x1D17B, 0x1D182}, {0x1D185, 0x1D18B}, {0x1D1AA, 0x1D1AD},
    {0x1D242, 0x1D244}, {0x1DA00, 0x1DA36}, {0x1DA3B, 0x1DA6C}, {0x1DA75, 0x1DA75}, {0x1DA84, 0x1DA84}, {0x1DA9B, 0x1DA9F},
    {0x1DAA1, 0x1DAAF}, {0x1E000, 0x1E006}, {0x1E008, 0x1E018}, {0x1E01B, 0x1E021}, {0x1E023, 0x1E024}, {0x1E026, 0x1E02A},
    {0x1E130, 0x1E136}, {0x1E2AE, 0x1E2AE}, {0x1E2EC, 0x1E2EF}, {0x1E8D0, 0x1E8D6}, {0x1E944, 0x1E94A}, {0xE0100, 0xE01EF},
};
#define COMBINING_COUNT (sizeof(COMBINING) / sizeof(COMBINING[0]))

static int is_combining(Py_UCS4 cp) {
    size_t lo = 0, hi = COMBINING_COUNT;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < COMBINING[mid][0]) hi = mid;
        else if (cp > COMBINING[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}

/* The folded value of a code point (0: dropped) and whether it belongs to a word. Texts arrive in
 * NFKD (sketch.py), so accents are combining marks: dropped, without ending the word. Letters and
 * digits beyond Latin-1 are lower-cased; everything else (punctuation, symbols, spaces) goes. */
static inline int64_t fold_cp(Py_UCS4 cp, int in_word, int *is_word) {
    if (cp < 0x80) { *is_word = ASCII_WORD[cp]; return ASCII_FOLD[cp]; }
    if (cp < 0xC0) { *is_word = 0; return 0; }
    if (cp <= 0xFF) {
        *is_word = 1;
        char c = LATIN1[cp - 0xC0];
        return c == ' ' ? 0 : (c == 'c' ? 'e' : (c == 'i' ? 'l' : c));
    }
    if (Py_UNICODE_ISALNUM(cp)) {
        *is_word = 1;
        Py_UCS4 lower = Py_UNICODE_TOLOWER(cp);
        switch (lower) { /* letters with a stroke, which NFKD leaves whole (sketch.py STROKED) */
            case 0x131: case 0x142: return 'l'; /* dotless i (i folds to l), l with stroke */
            case 0x111: return 'd';
            case 0x127: return 'h';
            case 0x167: return 't';
            case 0x180: return 'b';
            case 0x1B6: return 'z';
            default: return (int64_t)lower;
        }
    }
    *is_word = is_combining(cp) ? in_word : 0;
    return 0;
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
        int64_t c = fold_cp(PyUnicode_READ(job->kind, job->data, pos), in_word, &is_word);
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
    /* No letters or digits: no exact key (0), so such texts are never exact copies of each other. */
    job->whole = length ? mix64(whole ^ (uint64_t)length) : 0;
    if (length && !job->whole) job->whole = 1;
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

/* The hashes a and b share, written to out (which has room for the smaller); their number. */
static Py_ssize_t intersection(const uint64_t *a, Py_ssize_t na, const uint64_t *b, Py_ssize_t nb, uint64_t *out) {
    Py_ssize_t i = 0, j = 0, shared = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j]) i++;
        else if (a[i] > b[j]) j++;
        else { out[shared++] = a[i]; i++; j++; }
    }
    return shared;
}

/* What a leader's containment copies cover of it (sorted hashes), see cluster.py. */
typedef struct { uint64_t *hashes; Py_ssize_t count; } Claimed;

/* claimed |= part (both sorted); -1 when out of memory. */
static int claim(Claimed *c, const uint64_t *part, Py_ssize_t n) {
    uint64_t *merged = malloc(sizeof(uint64_t) * (size_t)(c->count + n + 1));
    if (!merged) return -1;
    Py_ssize_t i = 0, j = 0, k = 0;
    while (i < c->count || j < n) {
        if (j >= n || (i < c->count && c->hashes[i] < part[j])) merged[k++] = c->hashes[i++];
        else if (i >= c->count || part[j] < c->hashes[i]) merged[k++] = part[j++];
        else { merged[k++] = part[j++]; i++; }
    }
    free(c->hashes);
    c->hashes = merged;
    c->count = k;
    return 0;
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
    Claimed *claimed = calloc((size_t)(n + 1), sizeof(Claimed));
    uint64_t *part = NULL;
    size_t total = 0;
    int ok = samples && sizes && wholes && leader_of && leaders && similarity && method && shared && touched && ranked && claimed;
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
    Py_ssize_t largest = 1;
    for (Py_ssize_t i = 0; ok && i < n; i++) if (sizes[i] > largest) largest = sizes[i];
    if (ok) ok = table_init(&postings, (size_t)n * 8 + 16) == 0 && table_init(&exact, (size_t)n + 16) == 0 && (nodes = malloc(sizeof(Node) * node_capacity)) != NULL
                 && (part = malloc(sizeof(uint64_t) * (size_t)largest)) != NULL;
    if (!ok) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    int32_t leader_count = 0;
    for (Py_ssize_t d = 0; d < n && ok; d++) {
        Slot *same = wholes[d] ? table_get(&exact, wholes[d], 0) : NULL; /* 0: no exact key */
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
        int32_t best = -1, best_number = -1;
        double best_score = 0.0;
        char best_method = 0;
        for (Py_ssize_t k = 0; k < ranked_count; k++) {
            int32_t position = leaders[ranked[k].leader];
            Py_ssize_t other = sizes[position], smaller = size < other ? size : other;
            if (!smaller) continue;
            Py_ssize_t common = intersect(mine, size, samples[position], other);
            if (common < (min_shared < smaller ? min_shared : smaller) || (double)common / (double)smaller < containment) continue;
            double jaccard = (double)common / (double)(size + other - common);
            if (jaccard < full_copy && claimed[ranked[k].leader].count) {
                /* A part of the leader disjoint from what its other partial copies cover: another story on a multi-story page. */
                Py_ssize_t got = intersection(mine, size, samples[position], other, part);
                Claimed *c = &claimed[ranked[k].leader];
                Py_ssize_t overlap = intersect(part, got, c->hashes, c->count), least = got < c->count ? got : c->count;
                if (overlap < (min_shared < got ? min_shared : got) || (double)overlap < containment * (double)least) continue;
            }
            double score = jaccard >= full_copy ? jaccard : (double)common / (double)smaller;
            if (best < 0 || score > best_score) { best = position; best_number = ranked[k].leader; best_score = score; best_method = jaccard >= full_copy ? 2 : 3; }
        }
        if (best >= 0) {
            leader_of[d] = best; similarity[d] = best_score; method[d] = best_method;
            if (best_method == 3) {
                Py_ssize_t got = intersection(mine, size, samples[best], sizes[best], part);
                if (claim(&claimed[best_number], part, got) < 0) { ok = 0; break; }
            }
            continue;
        }
        int32_t number = leader_count++;
        leaders[number] = (int32_t)d;
        leader_of[d] = (int32_t)d; similarity[d] = 1.0; method[d] = 0;
        Slot *slot;
        if (wholes[d]) {
            if (table_grow(&exact) < 0) { ok = 0; break; }
            slot = table_get(&exact, wholes[d], 1);
            slot->count = number;
        }
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
    free(shared); free(touched); free(ranked); free(part);
    if (claimed) for (Py_ssize_t i = 0; i <= n; i++) free(claimed[i].hashes);
    free(claimed);
    Py_DECREF(samples_list);
    return ok ? result : NULL;
}

/* ---- the history lookup's verification: which (batch, stored) sketch pairs share enough keys ---- */

/* A sketch's index keys as a 4,096-bit signature (bits from the hash's upper part: a key modulus
 * zeroes the low bits); returns how many keys share a bit with an earlier one. Two sketches'
 * common bits plus the smaller of those numbers bound the keys they share from above (shared
 * keys set common bits, and only keys colliding within a sketch share one): a pair whose bound
 * misses the threshold is settled without merging the sketches. */
#define SIGNATURE_WORDS 64
static int32_t signature(const uint64_t *h, Py_ssize_t n, uint64_t modulus, uint64_t *out) {
    memset(out, 0, SIGNATURE_WORDS * sizeof(uint64_t));
    int32_t collided = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (h[i] % modulus) continue;
        uint64_t bit = (h[i] >> 40) & (SIGNATURE_WORDS * 64 - 1), mask = 1ULL << (bit & 63);
        collided += (out[bit >> 6] & mask) != 0;
        out[bit >> 6] |= mask;
    }
    return collided;
}

#if defined(__GNUC__) && defined(__x86_64__)
__attribute__((target("popcnt"))) static Py_ssize_t common_bits_popcnt(const uint64_t *a, const uint64_t *b) {
    Py_ssize_t n = 0;
    for (int w = 0; w < SIGNATURE_WORDS; w++) n += __builtin_popcountll(a[w] & b[w]);
    return n;
}
#endif

static Py_ssize_t common_bits_plain(const uint64_t *a, const uint64_t *b) {
    Py_ssize_t n = 0;
    for (int w = 0; w < SIGNATURE_WORDS; w++) n += __builtin_popcountll(a[w] & b[w]);
    return n;
}

static Py_ssize_t keys_shared(const uint64_t *x, Py_ssize_t nx, const uint64_t *y, Py_ssize_t ny, uint64_t modulus) {
    Py_ssize_t i = 0, j = 0, shared = 0;
    while (i < nx && j < ny) {
        if (x[i] < y[j]) i++;
        else if (x[i] > y[j]) j++;
        else { shared += x[i] % modulus == 0; i++; j++; }
    }
    return shared;
}

/* Sketch pointers and hash counts of a list of bytes objects (as a tuple, kept alive by the caller). */
static int sketch_views(PyObject *tuple, const uint64_t **where, Py_ssize_t *count) {
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(tuple); i++) {
        PyObject *item = PyTuple_GET_ITEM(tuple, i);
        if (!PyBytes_Check(item) || PyBytes_GET_SIZE(item) % 8) {
            PyErr_Format(PyExc_TypeError, "sketch %zd is not bytes of whole 64-bit hashes", i);
            return -1;
        }
        where[i] = (const uint64_t *)PyBytes_AS_STRING(item);
        count[i] = PyBytes_GET_SIZE(item) / 8;
    }
    return 0;
}

/* pairs_passing(batch: list[bytes], stored: list[bytes], pair_batch: int64 buffer, pair_stored:
 *               int64 buffer, key_modulus: int, min_shared: int, containment: float) -> bytes
 * One byte a pair (i, j): 1 when sketches batch[i] and stored[j] (sorted) share at least
 * min(min_shared, s) and at least containment * s index keys (hashes divisible by key_modulus),
 * s the smaller sketch's size in hashes; else 0. The Python reference is history._passing. */
static PyObject *pairs_passing(PyObject *self, PyObject *args) {
    PyObject *batch_given, *stored_given;
    Py_buffer left, right;
    unsigned long long key_modulus;
    int min_shared;
    double containment;
    if (!PyArg_ParseTuple(args, "O!O!y*y*Kid", &PyList_Type, &batch_given, &PyList_Type, &stored_given, &left, &right, &key_modulus, &min_shared, &containment))
        return NULL;
    PyObject *batch = NULL, *stored = NULL, *result = NULL;
    const uint64_t **a = NULL, **b = NULL;
    Py_ssize_t *na = NULL, *nb = NULL, n_batch = 0, n_stored = 0, pairs = 0;
    uint64_t *sig_a = NULL, *sig_b = NULL;
    int32_t *slack_a = NULL, *slack_b = NULL;
    if (key_modulus < 1 || left.len != right.len || left.len % (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "pair arrays must be int64 of one length and key_modulus >= 1");
        goto done;
    }
    /* Tuples keep every bytes object alive while the work reads them without the GIL. */
    batch = PyList_AsTuple(batch_given);
    stored = PyList_AsTuple(stored_given);
    if (!batch || !stored) goto done;
    n_batch = PyTuple_GET_SIZE(batch);
    n_stored = PyTuple_GET_SIZE(stored);
    a = malloc(sizeof(uint64_t *) * (size_t)(n_batch + 1));
    na = malloc(sizeof(Py_ssize_t) * (size_t)(n_batch + 1));
    b = malloc(sizeof(uint64_t *) * (size_t)(n_stored + 1));
    nb = malloc(sizeof(Py_ssize_t) * (size_t)(n_stored + 1));
    sig_a = malloc(sizeof(uint64_t) * SIGNATURE_WORDS * (size_t)(n_batch + 1));
    sig_b = malloc(sizeof(uint64_t) * SIGNATURE_WORDS * (size_t)(n_stored + 1));
    slack_a = malloc(sizeof(int32_t) * (size_t)(n_batch + 1));
    slack_b = malloc(sizeof(int32_t) * (size_t)(n_stored + 1));
    if (!a || !na || !b || !nb || !sig_a || !sig_b || !slack_a || !slack_b) { PyErr_NoMemory(); goto done; }
    if (sketch_views(batch, a, na) < 0 || sketch_views(stored, b, nb) < 0) goto done;
    pairs = left.len / (Py_ssize_t)sizeof(int64_t);
    const int64_t *pi = left.buf, *pj = right.buf;
    for (Py_ssize_t k = 0; k < pairs; k++) {
        if (pi[k] < 0 || pi[k] >= n_batch || pj[k] < 0 || pj[k] >= n_stored) {
            PyErr_Format(PyExc_IndexError, "pair %zd (%lld, %lld) is out of range", k, (long long)pi[k], (long long)pj[k]);
            goto done;
        }
    }
    result = PyBytes_FromStringAndSize(NULL, pairs);
    if (!result) goto done;
    char *out = PyBytes_AS_STRING(result);
    uint64_t modulus = (uint64_t)key_modulus;
    Py_ssize_t (*common_bits)(const uint64_t *, const uint64_t *) = common_bits_plain;
#if defined(__GNUC__) && defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("popcnt")) common_bits = common_bits_popcnt;
#endif
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n_batch; i++) slack_a[i] = signature(a[i], na[i], modulus, sig_a + (size_t)i * SIGNATURE_WORDS);
    for (Py_ssize_t j = 0; j < n_stored; j++) slack_b[j] = signature(b[j], nb[j], modulus, sig_b + (size_t)j * SIGNATURE_WORDS);
    for (Py_ssize_t k = 0; k < pairs; k++) {
        Py_ssize_t smaller = na[pi[k]] < nb[pj[k]] ? na[pi[k]] : nb[pj[k]];
        double need = containment * (double)smaller;
        Py_ssize_t floor_need = min_shared < smaller ? min_shared : smaller;
        Py_ssize_t bound = common_bits(sig_a + (size_t)pi[k] * SIGNATURE_WORDS, sig_b + (size_t)pj[k] * SIGNATURE_WORDS)
                           + (slack_a[pi[k]] < slack_b[pj[k]] ? slack_a[pi[k]] : slack_b[pj[k]]);
        if (bound < floor_need || (double)bound < need) { out[k] = 0; continue; }
        Py_ssize_t shared = keys_shared(a[pi[k]], na[pi[k]], b[pj[k]], nb[pj[k]], modulus);
        out[k] = shared >= floor_need && (double)shared >= need;
    }
    Py_END_ALLOW_THREADS
done:
    PyBuffer_Release(&left);
    PyBuffer_Release(&right);
    Py_XDECREF(batch);
    Py_XDECREF(stored);
    free(a); free(na); free(b); free(nb); free(sig_a); free(sig_b); free(slack_a); free(slack_b);
    return result;
}

static PyMethodDef METHODS[] = {
    {"sketch_many", sketch_many, METH_VARARGS, "Sampled character-gram hashes and word counts of texts."},
    {"cluster_sorted", cluster_sorted, METH_VARARGS, "Near-duplicate clusters of sketches given in canonical order."},
    {"pairs_passing", pairs_passing, METH_VARARGS, "Which pairs of sorted sketches share enough index keys."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {PyModuleDef_HEAD_INIT, "_sketch", "Text sketches for near-duplicate detection.", -1, METHODS};

PyMODINIT_FUNC PyInit__sketch(void) {
    init_fold();
    return PyModule_Create(&MODULE);
}
