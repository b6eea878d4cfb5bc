/* trackline.data_types._histogram_native: numpy.histogram's counts for float arrays, fast.

   Built by hatch_build.py when the package is installed (a C compiler and Python's headers
   are needed; without them histogram.py uses numpy.histogram). Both functions release the
   GIL, so histogram.py runs them on the caller and the media helper threads at once, each
   on its own part of the array.

   min_max(values) -> (lo, hi)
       The least and greatest finite value (NaN and infinities skipped); (inf, -inf) if
       there is none.

   count(values, edges, counts, margin)
       counts[k] += how many finite values v have edges[k] <= v < edges[k + 1] (the last
       bin closed): numpy.histogram's rule, edges included. edges are float64 (numpy's
       linspace edges, widened exactly); counts are int64. Each value's bin is first
       estimated from its position (v - lo) * bins / (hi - lo); a value whose position
       lies within `margin` (in bins) of a whole number may sit on the other side of an
       edge than the estimate says, so it is placed by a binary search on the edges
       instead. histogram.py computes `margin` from the rounding errors of the estimate and
       of numpy's edges. Values outside [edges[0], edges[bins]] (only NaN and infinities
       when the edges span min..max) are not counted.

   The estimate runs over blocks of values in a loop that the compiler vectorises (with
   -fno-trapping-math; on x86-64 an AVX2 copy is chosen at load time when the CPU has it);
   the count is a scalar pass over the block's bins into four tables, so that runs of
   equal bins do not wait on each other's increments. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VECTOR_CLONES
#endif

#define BLOCK 2048                /* values per estimate pass: the keys stay in L1 */
#define MAX_BINS 512              /* W&B's limit on a histogram's length */
#define FLUSH_EVERY (1 << 30)     /* values per flush of the uint32 tables into counts */

/* ---- min and max of the finite values ---- */

/* GCC/Clang vector extensions: 32-byte vectors, split in two on a CPU without AVX. */
typedef double f64x4 __attribute__((vector_size(32)));
typedef int64_t i64x4 __attribute__((vector_size(32)));
typedef float f32x8 __attribute__((vector_size(32)));
typedef int32_t i32x8 __attribute__((vector_size(32)));

/* Lanes of a where the mask is set, else of b (a NaN compares false, so it is never picked). */
#define PICK(IV, mask, a, b) ((__typeof__(a))((((IV)(a)) & (mask)) | (((IV)(b)) & ~(mask))))

#define MIN_MAX(T, FV, IV)                                                              \
    VECTOR_CLONES static void min_max_##T(const T *x, Py_ssize_t n, double *lo, double *hi) { \
        enum { LANES = sizeof(FV) / sizeof(T) };                                        \
        FV lo_v[2], hi_v[2]; /* two of each: the compare-and-pick chains overlap */   \
        for (int j = 0; j < LANES; j++) {                                               \
            lo_v[0][j] = lo_v[1][j] = INFINITY;                                         \
            hi_v[0][j] = hi_v[1][j] = -INFINITY;                                        \
        }                                                                               \
        Py_ssize_t i = 0;                                                               \
        for (; i + 2 * LANES <= n; i += 2 * LANES) {                                    \
            for (int v = 0; v < 2; v++) {                                               \
                FV a;                                                                   \
                memcpy(&a, x + i + v * LANES, sizeof a);                                \
                lo_v[v] = PICK(IV, a < lo_v[v], a, lo_v[v]);                            \
                hi_v[v] = PICK(IV, a > hi_v[v], a, hi_v[v]);                            \
            }                                                                           \
        }                                                                               \
        double l = INFINITY, h = -INFINITY;                                             \
        for (int v = 0; v < 2; v++) {                                                   \
            for (int j = 0; j < LANES; j++) {                                           \
                l = lo_v[v][j] < l ? lo_v[v][j] : l;                                    \
                h = hi_v[v][j] > h ? hi_v[v][j] : h;                                    \
            }                                                                           \
        }                                                                               \
        for (; i < n; i++) {                                                            \
            double a = x[i];                                                            \
            l = a < l ? a : l;                                                          \
            h = a > h ? a : h;                                                          \
        }                                                                               \
        if (isinf(l) || isinf(h)) { /* an infinity (or nothing finite): again, finite only */ \
            l = INFINITY;                                                               \
            h = -INFINITY;                                                              \
            for (i = 0; i < n; i++) {                                                   \
                double a = x[i];                                                        \
                if (isfinite(a)) {                                                      \
                    l = a < l ? a : l;                                                  \
                    h = a > h ? a : h;                                                  \
                }                                                                       \
            }                                                                           \
        }                                                                               \
        *lo = l;                                                                        \
        *hi = h;                                                                        \
    }

MIN_MAX(double, f64x4, i64x4)
MIN_MAX(float, f32x8, i32x8)

/* ---- counting ---- */

/* Each value's estimated bin, or -1 when its position is within `margin` of an edge or is
   not a number (NaN and infinities convert to INT32_MIN, which is also out of range). */
#define ESTIMATE(T)                                                                      \
    VECTOR_CLONES static void estimate_##T(const T *restrict x, Py_ssize_t m, double lo, double norm, \
                                           double margin, int32_t *restrict keys) {      \
        const double top = 1.0 - margin;                                                 \
        for (Py_ssize_t i = 0; i < m; i++) {                                             \
            double f = ((double)x[i] - lo) * norm;                                       \
            int32_t k = (int32_t)f;                                                      \
            double frac = f - (double)k;                                                 \
            keys[i] = ((frac < margin) | (frac > top)) ? -1 : k;                         \
        }                                                                                \
    }

ESTIMATE(double)
ESTIMATE(float)

/* The bin of v by numpy's rule: the largest k < bins with edges[k] <= v (v >= edges[0]). */
static Py_ssize_t exact_bin(double v, const double *edges, Py_ssize_t bins) {
    Py_ssize_t a = 0, b = bins - 1;
    while (a < b) {
        Py_ssize_t mid = (a + b + 1) / 2;
        if (edges[mid] <= v)
            a = mid;
        else
            b = mid - 1;
    }
    return a;
}

static void flush(uint32_t tables[4][MAX_BINS], Py_ssize_t bins, int64_t *counts) {
    for (Py_ssize_t b = 0; b < bins; b++)
        counts[b] += (int64_t)tables[0][b] + tables[1][b] + tables[2][b] + tables[3][b];
    memset(tables, 0, sizeof(uint32_t) * 4 * MAX_BINS);
}

#define COUNT(T)                                                                         \
    static void count_##T(const T *x, Py_ssize_t n, const double *edges, Py_ssize_t bins, \
                          double margin, int64_t *counts) {                              \
        uint32_t tables[4][MAX_BINS];                                                    \
        int32_t keys[BLOCK];                                                             \
        const double lo = edges[0], hi = edges[bins], norm = (double)bins / (hi - lo);   \
        memset(tables, 0, sizeof(tables));                                               \
        Py_ssize_t since_flush = 0;                                                      \
        for (Py_ssize_t start = 0; start < n; start += BLOCK) {                          \
            const T *block = x + start;                                                  \
            Py_ssize_t m = n - start < BLOCK ? n - start : BLOCK;                        \
            estimate_##T(block, m, lo, norm, margin, keys);                              \
            for (Py_ssize_t i = 0; i < m; i++) {                                         \
                uint32_t k = (uint32_t)keys[i];                                          \
                if (k >= (uint32_t)bins) { /* near an edge, hi itself, or not finite */  \
                    double v = block[i];                                                 \
                    if (!(v >= lo && v <= hi))                                           \
                        continue;                                                        \
                    k = (uint32_t)exact_bin(v, edges, bins);                             \
                }                                                                        \
                tables[i & 3][k]++;                                                      \
            }                                                                            \
            since_flush += m;                                                            \
            if (since_flush >= FLUSH_EVERY) {                                            \
                flush(tables, bins, counts);                                             \
                since_flush = 0;                                                         \
            }                                                                            \
        }                                                                                \
        flush(tables, bins, counts);                                                     \
    }

COUNT(double)
COUNT(float)

/* ---- the Python functions ---- */

/* The struct-module type code of a native-order buffer of one item type, or 0. */
static char type_code(const Py_buffer *view) {
    const char *f = view->format;
    if (f[0] == '<' || f[0] == '=' || f[0] == '@')
        f++;
    return f[0] != '\0' && f[1] == '\0' ? f[0] : 0;
}

/* A C-contiguous float64 or float32 buffer; *wide says which. */
static int get_values(PyObject *obj, Py_buffer *view, int *wide) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    char code = type_code(view);
    if ((code == 'd' && view->itemsize == 8) || (code == 'f' && view->itemsize == 4)) {
        *wide = code == 'd';
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "values: expected a contiguous float64 or float32 array, got format '%s'",
                 view->format);
    PyBuffer_Release(view);
    return -1;
}

static PyObject *py_min_max(PyObject *self, PyObject *arg) {
    Py_buffer values;
    int wide;
    double lo, hi;
    if (get_values(arg, &values, &wide) < 0)
        return NULL;
    Py_ssize_t n = values.len / values.itemsize;
    Py_BEGIN_ALLOW_THREADS
    if (wide)
        min_max_double(values.buf, n, &lo, &hi);
    else
        min_max_float(values.buf, n, &lo, &hi);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&values);
    return Py_BuildValue("dd", lo, hi);
}

static PyObject *py_count(PyObject *self, PyObject *args) {
    PyObject *values_obj, *edges_obj, *counts_obj;
    Py_buffer values, edges, counts;
    int wide;
    double margin;
    if (!PyArg_ParseTuple(args, "OOOd:count", &values_obj, &edges_obj, &counts_obj, &margin))
        return NULL;
    if (get_values(values_obj, &values, &wide) < 0)
        return NULL;
    if (PyObject_GetBuffer(edges_obj, &edges, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        PyBuffer_Release(&values);
        return NULL;
    }
    if (PyObject_GetBuffer(counts_obj, &counts, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE | PyBUF_FORMAT) < 0) {
        PyBuffer_Release(&values);
        PyBuffer_Release(&edges);
        return NULL;
    }
    Py_ssize_t bins = counts.len / 8;
    char counts_code = type_code(&counts);
    int ok = type_code(&edges) == 'd' && edges.itemsize == 8 && (counts_code == 'q' || counts_code == 'l') &&
             counts.itemsize == 8 && bins >= 1 && bins <= MAX_BINS && edges.len == (bins + 1) * 8 &&
             margin >= 0.0 && margin < 0.5;
    if (ok) {
        const double *e = edges.buf;
        ok = isfinite(e[0]) && isfinite(e[bins]) && e[0] < e[bins] && isfinite(e[bins] - e[0]);
    }
    if (!ok) {
        PyBuffer_Release(&values);
        PyBuffer_Release(&edges);
        PyBuffer_Release(&counts);
        PyErr_SetString(PyExc_ValueError,
                        "count: expected bins + 1 finite increasing float64 edges, 1..512 int64 counts "
                        "and 0 <= margin < 0.5");
        return NULL;
    }
    Py_ssize_t n = values.len / values.itemsize;
    Py_BEGIN_ALLOW_THREADS
    if (wide)
        count_double(values.buf, n, edges.buf, bins, margin, counts.buf);
    else
        count_float(values.buf, n, edges.buf, bins, margin, counts.buf);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&values);
    PyBuffer_Release(&edges);
    PyBuffer_Release(&counts);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"min_max", py_min_max, METH_O, "min_max(values) -> (lo, hi): the least and greatest finite value."},
    {"count", py_count, METH_VARARGS,
     "count(values, edges, counts, margin): add numpy.histogram's counts of values in edges to counts."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_histogram_native", "numpy.histogram's counts for float arrays, fast.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__histogram_native(void) { return PyModule_Create(&module); }
