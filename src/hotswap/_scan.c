/* hotswap._scan: the heap pass in one walk, for any number of targets.
 *
 * `gc.get_referrers(*targets)` compares every reference it visits with each target in turn,
 * so its cost grows with the number of targets; and it cannot answer "what holds an object
 * of this class", which is what moving the instances of a class to a new memory layout
 * needs (the instances are only known once the heap has been walked, so Python alone needs
 * a second pass). This walks the GC-tracked objects once, as `gc.get_referrers` does, and
 * asks each reference two questions in constant time: is it one of `targets` (a hash set
 * of addresses), and is its type one of `types` (a handful of classes, compared by
 * address). It runs no Python code: no `__eq__`, `__hash__` or `__getattr__` of the
 * program is called, and nothing is allocated while the collector's lists are walked.
 *
 * Optional: hotswap works without it (hotswap._heap falls back to gc.get_referrers and
 * chunked scans in Python, and to two passes for such a move).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct {
    uintptr_t *table;       /* the targets' addresses, open addressing; 0 is empty */
    size_t mask;
    PyObject **types;
    Py_ssize_t ntypes;
    PyObject *own[3];       /* this call's own containers, which refer to the targets */
    PyObject **found;
    Py_ssize_t nfound, cap;
    int failed;
} Query;

static inline size_t
slot_of(uintptr_t address, size_t mask)
{
    /* Objects are 16-byte aligned: drop the low bits, then spread the rest. */
    return (size_t)(((address >> 4) * (uintptr_t)0x9E3779B97F4A7C15ULL) >> 17) & mask;
}

/* tp_traverse's visitor: nonzero stops the traversal of this object (it is a match). */
static int
visit(PyObject *referent, void *arg)
{
    Query *q = (Query *)arg;
    if (referent == NULL) {
        return 0;
    }
    PyObject *kind = (PyObject *)Py_TYPE(referent);
    for (Py_ssize_t i = 0; i < q->ntypes; i++) {
        if (q->types[i] == kind) {
            return 1;
        }
    }
    if (q->table != NULL) {
        uintptr_t address = (uintptr_t)referent;
        for (size_t s = slot_of(address, q->mask);; s = (s + 1) & q->mask) {
            if (q->table[s] == address) {
                return 1;
            }
            if (q->table[s] == 0) {
                break;
            }
        }
    }
    return 0;
}

/* Called for each tracked object: keep it if one of its references matches. Returns 0 to
 * stop the walk (out of memory), 1 to go on. */
static int
consider(PyObject *op, void *arg)
{
    Query *q = (Query *)arg;
    if (op == q->own[0] || op == q->own[1] || op == q->own[2]) {
        return 1;
    }
    traverseproc traverse = Py_TYPE(op)->tp_traverse;
    if (traverse == NULL || !traverse(op, visit, q)) {
        return 1;
    }
    if (q->nfound == q->cap) {
        Py_ssize_t cap = q->cap ? q->cap * 2 : 64;
        PyObject **more = PyMem_Realloc(q->found, sizeof(PyObject *) * (size_t)cap);
        if (more == NULL) {
            q->failed = 1;
            return 0;
        }
        q->found = more;
        q->cap = cap;
    }
    Py_INCREF(op);
    q->found[q->nfound++] = op;
    return 1;
}

static PyObject *
referrers(PyObject *module, PyObject *args)
{
    PyObject *targets, *types;
    if (!PyArg_ParseTuple(args, "O!O!:referrers", &PyTuple_Type, &targets,
                          &PyTuple_Type, &types)) {
        return NULL;
    }
    Query q = {0};
    Py_ssize_t n = PyTuple_GET_SIZE(targets);
    if (n > 0) {
        size_t size = 8;
        while (size < (size_t)n * 2) {
            size <<= 1;
        }
        q.table = PyMem_Calloc(size, sizeof(uintptr_t));
        if (q.table == NULL) {
            return PyErr_NoMemory();
        }
        q.mask = size - 1;
        for (Py_ssize_t i = 0; i < n; i++) {
            uintptr_t address = (uintptr_t)PyTuple_GET_ITEM(targets, i);
            size_t s = slot_of(address, q.mask);
            while (q.table[s] != 0 && q.table[s] != address) {
                s = (s + 1) & q.mask;
            }
            q.table[s] = address;
        }
    }
    q.types = &PyTuple_GET_ITEM(types, 0);
    q.ntypes = PyTuple_GET_SIZE(types);
    q.own[0] = targets;
    q.own[1] = types;
#if PY_VERSION_HEX >= 0x030C0000
    /* 3.12+: the collector's own lists, without listing them first. */
    PyUnstable_GC_VisitObjects(consider, &q);
#else
    /* 3.11 has no such visit: list the tracked objects, with gc.get_objects() as it was
     * when this module was imported (a program may have replaced it since). */
    PyObject *all = PyObject_CallNoArgs(*(PyObject **)PyModule_GetState(module));
    if (all == NULL || !PyList_Check(all)) {
        Py_XDECREF(all);
        PyMem_Free(q.table);
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "gc.get_objects() did not return a list");
        }
        return NULL;
    }
    q.own[2] = all;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(all); i++) {
        if (!consider(PyList_GET_ITEM(all, i), &q)) {
            break;
        }
    }
    Py_DECREF(all);
#endif
    PyMem_Free(q.table);
    PyObject *found = q.failed ? NULL : PyList_New(q.nfound);
    for (Py_ssize_t i = 0; i < q.nfound; i++) {
        if (found != NULL) {
            PyList_SET_ITEM(found, i, q.found[i]);  /* steals the reference taken */
        }
        else {
            Py_DECREF(q.found[i]);
        }
    }
    PyMem_Free(q.found);
    if (found == NULL && !PyErr_Occurred()) {
        PyErr_NoMemory();
    }
    return found;
}

PyDoc_STRVAR(referrers_doc,
"referrers(targets, types, /)\n--\n\n"
"The GC-tracked objects holding a direct reference to one of `targets` (by identity) or to\n"
"an object whose type is one of `types` (exactly), in one pass over the heap; the two\n"
"tuples themselves are left out.");

static PyMethodDef methods[] = {
    {"referrers", referrers, METH_VARARGS, referrers_doc},
    {NULL, NULL, 0, NULL},
};

#if PY_VERSION_HEX < 0x030C0000
static int
scan_exec(PyObject *module)
{
    PyObject *gc = PyImport_ImportModule("gc");
    if (gc == NULL) {
        return -1;
    }
    PyObject *get_objects = PyObject_GetAttrString(gc, "get_objects");
    Py_DECREF(gc);
    if (get_objects == NULL) {
        return -1;
    }
    *(PyObject **)PyModule_GetState(module) = get_objects;
    return 0;
}

static int
scan_traverse(PyObject *module, visitproc visit, void *arg)
{
    Py_VISIT(*(PyObject **)PyModule_GetState(module));
    return 0;
}

static int
scan_clear(PyObject *module)
{
    Py_CLEAR(*(PyObject **)PyModule_GetState(module));
    return 0;
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, scan_exec},
    {0, NULL},
};
#define STATE_SIZE sizeof(PyObject *)
#define SLOTS slots
#define TRAVERSE scan_traverse
#define CLEAR scan_clear
#else
#define STATE_SIZE 0
#define SLOTS NULL
#define TRAVERSE NULL
#define CLEAR NULL
#endif

static struct PyModuleDef scan_module = {
    PyModuleDef_HEAD_INIT, "hotswap._scan",
    "The heap pass in one walk, for any number of targets (see hotswap._heap).",
    STATE_SIZE, methods, SLOTS, TRAVERSE, CLEAR, NULL,
};

PyMODINIT_FUNC
PyInit__scan(void)
{
    return PyModuleDef_Init(&scan_module);
}
