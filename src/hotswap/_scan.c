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
 * It also does the work per instance of such a move (`Index`, `copy_state`): counting
 * the references the program's containers hold to each instance, rewriting them, copying
 * slots, at memory speed rather than at the speed of a Python loop.
 *
 * Optional: hotswap works without it (hotswap._heap falls back to gc.get_referrers and
 * chunked scans in Python, and to two passes for such a move).
 */
#define PY_SSIZE_T_CLEAN
#include <patchlevel.h>
#if PY_VERSION_HEX < 0x030C0000
/* 3.11 has no public way to visit the collector's lists: the internal headers of the
 * very Python this is compiled for describe them (see `walk_generations`). */
#  define Py_BUILD_CORE_MODULE 1
#endif
#include <Python.h>
#if PY_VERSION_HEX < 0x030C0000
#  include <structmember.h>  /* PyMemberDef: in Python.h from 3.12 */
#  include "internal/pycore_gc.h"
#  include "internal/pycore_interp.h"
#endif

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

#if PY_VERSION_HEX < 0x030C0000
typedef struct {
    PyObject *get_objects;  /* gc.get_objects as it was when this module was imported */
    int direct;             /* whether the generations' lists passed `generations_ok` */
} State;

/* 3.11: walk the collector's three generations as gc.get_objects() lists them
 * (Modules/gcmodule.c, append_objects over GEN_HEAD(gcstate, i)), without making the list:
 * one pass. Safe for the same reason as gc.get_referrers: nothing here allocates a tracked
 * object, frees one or runs Python code, so no collection can move objects between lists
 * while they are walked. Returns 0 when the direct walk is off (then `list_then_walk`). */
static int
walk_generations(PyObject *module, Query *q)
{
    State *state = (State *)PyModule_GetState(module);
    struct _gc_runtime_state *gcstate = &PyInterpreterState_Get()->gc;
    if (!state->direct || gcstate->collecting) {
        return 0;  /* during a collection, objects sit in lists of the collector's own */
    }
    for (int i = 0; i < NUM_GENERATIONS; i++) {
        PyGC_Head *head = &gcstate->generations[i].head;
        for (PyGC_Head *gc = _PyGCHead_NEXT(head); gc != head; gc = _PyGCHead_NEXT(gc)) {
            if (!consider((PyObject *)(gc + 1), q)) {
                PyErr_NoMemory();
                return -1;
            }
        }
    }
    return 1;
}

/* The two-pass way (gc.get_objects(), then the walk), should the direct one be off.
 * Returns 1 on success, 0 with an exception set. */
static int
list_then_walk(PyObject *module, Query *q)
{
    State *state = (State *)PyModule_GetState(module);
    PyObject *all = PyObject_CallNoArgs(state->get_objects);
    if (all == NULL || !PyList_Check(all)) {
        Py_XDECREF(all);
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "gc.get_objects() did not return a list");
        }
        return 0;
    }
    q->own[2] = all;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(all); i++) {
        if (!consider(PyList_GET_ITEM(all, i), q)) {
            break;
        }
    }
    Py_DECREF(all);
    if (q->failed) {
        PyErr_NoMemory();
        return 0;
    }
    return 1;
}

/* Whether the interpreter's collector state is where this build's headers say: the
 * thresholds gc.get_threshold() reports, every generation a well-linked ring, and an
 * object tracked just now the newest of generation 0. A Python whose layout differs (a
 * patch release built otherwise) fails it, and the pass lists the heap first as before. */
static int
generations_ok(PyObject *gc)
{
    struct _gc_runtime_state *gcstate = &PyInterpreterState_Get()->gc;
    PyObject *thresholds = PyObject_CallMethod(gc, "get_threshold", NULL);
    if (thresholds == NULL) {
        return -1;
    }
    int ok = PyTuple_Check(thresholds) && PyTuple_GET_SIZE(thresholds) == NUM_GENERATIONS
             && gcstate->generation0 == &gcstate->generations[0].head;
    for (int i = 0; ok && i < NUM_GENERATIONS; i++) {
        long want = PyLong_AsLong(PyTuple_GET_ITEM(thresholds, i));
        PyGC_Head *head = &gcstate->generations[i].head;
        ok = want == gcstate->generations[i].threshold
             && _PyGCHead_PREV(_PyGCHead_NEXT(head)) == head
             && _PyGCHead_NEXT(_PyGCHead_PREV(head)) == head;
    }
    Py_DECREF(thresholds);
    if (PyErr_Occurred()) {
        return -1;
    }
    PyObject *probe = PyList_New(0);  /* tracked when made: the tail of generation 0 */
    if (probe == NULL) {
        return -1;
    }
    ok = ok && PyObject_GC_IsTracked(probe)
         && _PyGCHead_PREV(&gcstate->generations[0].head) == _Py_AS_GC(probe);
    Py_DECREF(probe);
    return ok;
}
#endif

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
    int walked = walk_generations(module, &q);
    if (walked == 0) {
        walked = list_then_walk(module, &q) ? 1 : -1;
    }
    if (walked < 0) {
        PyMem_Free(q.table);
        for (Py_ssize_t i = 0; i < q.nfound; i++) {
            Py_DECREF(q.found[i]);
        }
        PyMem_Free(q.found);
        return NULL;
    }
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


/* sort(found, classes): what the pass found, sorted in one loop: the plain functions, the
 * direct instances of each of `classes` (exact type), and what may hold things rewritably
 * (hotswap._heap.as_container: an exact list, dict, set or cell; an object with an
 * attribute dict or a module, not a class). */
static PyObject *
sort_found(PyObject *module, PyObject *args)
{
    PyObject *found, *classes;
    if (!PyArg_ParseTuple(args, "O!O!:sort", &PyList_Type, &found, &PyTuple_Type, &classes)) {
        return NULL;
    }
    Py_ssize_t nclasses = PyTuple_GET_SIZE(classes);
    PyObject *functions = PyList_New(0), *boxes = PyList_New(0);
    PyObject *instances = PyList_New(nclasses);
    if (functions == NULL || boxes == NULL || instances == NULL) {
        goto fail;
    }
    for (Py_ssize_t c = 0; c < nclasses; c++) {
        PyObject *each = PyList_New(0);
        if (each == NULL) {
            goto fail;
        }
        PyList_SET_ITEM(instances, c, each);
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(found); i++) {
        PyObject *op = PyList_GET_ITEM(found, i);
        PyTypeObject *kind = Py_TYPE(op);
        PyObject *into = NULL;
        if (PyFunction_Check(op)) {
            into = functions;
        }
        else if (PyList_CheckExact(op) || PyDict_CheckExact(op) || PySet_CheckExact(op)
                 || PyCell_Check(op)
                 || (!PyType_Check(op) && (kind->tp_dictoffset != 0 || PyModule_Check(op)))) {
            into = boxes;
        }
        if (into != NULL && PyList_Append(into, op) < 0) {
            goto fail;
        }
        for (Py_ssize_t c = 0; c < nclasses; c++) {
            if ((PyObject *)kind == PyTuple_GET_ITEM(classes, c)) {
                if (PyList_Append(PyList_GET_ITEM(instances, c), op) < 0) {
                    goto fail;
                }
                break;
            }
        }
    }
    return Py_BuildValue("(NNN)", functions, instances, boxes);
fail:
    Py_XDECREF(functions);
    Py_XDECREF(instances);
    Py_XDECREF(boxes);
    return NULL;
}

PyDoc_STRVAR(sort_doc,
"sort(found, classes, /)\n--\n\n"
"(functions, instances, boxes): the plain functions among `found`, the direct instances\n"
"of each of `classes` (a list for each), and the objects that may hold others in a list,\n"
"dict, set, cell or attribute dict.");

/* copy_state(olds, twins, getters, setters, dict_setter): give each twin the state of the
 * old instance in its place, as hotswap._patch.instances does in Python: for each slot, the
 * value `getters[j]` reads from the old one, set with `setters[j]` (a slot left unset stays
 * unset); unless `dict_setter` is None, the attribute dict itself, the same dict object,
 * set with `dict_setter` (the new class's `__dict__` descriptor): the references the dict
 * holds to instances that move are rewritten with the other holders' (a copy would keep
 * pointing at the old instances). */
/* A slot read and written in place: a `__slots__` member descriptor (an object slot,
 * unset until assigned, not read-only), on an object of the descriptor's class. The
 * descriptor would do the same, but an unset slot costs it an AttributeError (a formatted
 * message, made and cleared) for each instance. */
#define SLOT_OBJECT_EX 16   /* T_OBJECT_EX (Py_T_OBJECT_EX from 3.12) */
#define SLOT_READONLY 1     /* READONLY (Py_READONLY) */

typedef struct {
    PyObject *get, *set;        /* the descriptors */
    PyTypeObject *get_type, *set_type;  /* NULL: no place known, use the descriptors */
    Py_ssize_t get_at, set_at;  /* the slots' offsets in the objects */
} Slot;

static int
slot_place(PyObject *descr, PyTypeObject **type, Py_ssize_t *at)
{
    if (!Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
        return 0;
    }
    PyMemberDescrObject *member = (PyMemberDescrObject *)descr;
    if (member->d_member->type != SLOT_OBJECT_EX || (member->d_member->flags & SLOT_READONLY)) {
        return 0;
    }
    *type = member->d_common.d_type;
    *at = member->d_member->offset;
    return 1;
}

static int
copy_one(PyObject *old, PyObject *twin, Slot *slots, Py_ssize_t nslots,
         PyObject *dict_setter)
{
    for (Py_ssize_t j = 0; j < nslots; j++) {
        Slot *sl = &slots[j];
        if (sl->get_type != NULL && PyObject_TypeCheck(old, sl->get_type)
                && PyObject_TypeCheck(twin, sl->set_type)) {
            PyObject *value = *(PyObject **)((char *)old + sl->get_at);
            if (value != NULL) {  /* an unset slot stays unset */
                PyObject **place = (PyObject **)((char *)twin + sl->set_at);
                PyObject *was = *place;
                *place = Py_NewRef(value);
                Py_XDECREF(was);
            }
            continue;
        }
        PyObject *value = Py_TYPE(sl->get)->tp_descr_get(sl->get, old, (PyObject *)Py_TYPE(old));
        if (value == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_AttributeError)) {
                return -1;
            }
            PyErr_Clear();  /* an unset slot */
            continue;
        }
        int failed = Py_TYPE(sl->set)->tp_descr_set(sl->set, twin, value);
        Py_DECREF(value);
        if (failed) {
            return -1;
        }
    }
    if (dict_setter == Py_None) {
        return 0;
    }
    PyObject *source = PyObject_GenericGetDict(old, NULL);
    if (source == NULL) {
        return -1;
    }
    int failed = !PyDict_CheckExact(source)
                 || Py_TYPE(dict_setter)->tp_descr_set(dict_setter, twin, source) < 0;
    Py_DECREF(source);
    if (failed && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_TypeError, "an instance's __dict__ is not a dict");
    }
    return failed ? -1 : 0;
}

static PyObject *
copy_state(PyObject *module, PyObject *args)
{
    PyObject *olds, *twins, *getters, *setters, *dict_setter;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O:copy_state", &PyList_Type, &olds, &PyList_Type,
                          &twins, &PyTuple_Type, &getters, &PyTuple_Type, &setters,
                          &dict_setter)) {
        return NULL;
    }
    if (PyList_GET_SIZE(olds) != PyList_GET_SIZE(twins)
            || PyTuple_GET_SIZE(getters) != PyTuple_GET_SIZE(setters)) {
        PyErr_SetString(PyExc_ValueError, "olds and twins, getters and setters: unequal");
        return NULL;
    }
    Py_ssize_t nslots = PyTuple_GET_SIZE(getters);
    for (Py_ssize_t j = 0; j < nslots; j++) {
        if (Py_TYPE(PyTuple_GET_ITEM(getters, j))->tp_descr_get == NULL
                || Py_TYPE(PyTuple_GET_ITEM(setters, j))->tp_descr_set == NULL) {
            PyErr_SetString(PyExc_TypeError, "a getter or setter is not a data descriptor");
            return NULL;
        }
    }
    if (dict_setter != Py_None && Py_TYPE(dict_setter)->tp_descr_set == NULL) {
        PyErr_SetString(PyExc_TypeError, "dict_setter is not a data descriptor");
        return NULL;
    }
    Slot *slots = PyMem_Calloc((size_t)nslots + 1, sizeof(Slot));
    if (slots == NULL) {
        return PyErr_NoMemory();
    }
    for (Py_ssize_t j = 0; j < nslots; j++) {
        Slot *sl = &slots[j];
        sl->get = PyTuple_GET_ITEM(getters, j);
        sl->set = PyTuple_GET_ITEM(setters, j);
        if (!slot_place(sl->get, &sl->get_type, &sl->get_at)
                || !slot_place(sl->set, &sl->set_type, &sl->set_at)) {
            sl->get_type = sl->set_type = NULL;
        }
    }
    /* the descriptors stay alive: the tuples hold them, and no Python code runs below
     * unless a slot is read through its descriptor (which holds its own reference) */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(olds) && i < PyList_GET_SIZE(twins); i++) {
        PyObject *old = PyList_GET_ITEM(olds, i), *twin = PyList_GET_ITEM(twins, i);
        Py_INCREF(old);
        Py_INCREF(twin);
        int failed = copy_one(old, twin, slots, nslots, dict_setter);
        Py_DECREF(old);
        Py_DECREF(twin);
        if (failed) {
            PyMem_Free(slots);
            return NULL;
        }
    }
    PyMem_Free(slots);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(copy_state_doc,
"copy_state(olds, twins, getters, setters, dict_setter, /)\n--\n\n"
"Give each of `twins` the state of the instance of `olds` at its index: each slot that\n"
"`getters[j]` reads set (unset ones stay unset) with `setters[j]`; unless `dict_setter`\n"
"is None, the attribute dict itself (the same object), set with `dict_setter`.");


/* Index(olds, news): where each of `olds` (by address) stands in the list, for the moves
 * of instances to a new layout (hotswap._patch.instances): how many references the
 * program's containers hold to each, which of them something else holds too, and putting
 * `news[i]` in the place of `olds[i]` in a list, a cell or a dict's values. It keeps both
 * lists, so every old object stays alive and its address names it alone. No Python code
 * runs in its loops: a dict whose keys could run some when hashed is left to the caller. */
typedef struct {
    uintptr_t key;          /* an old object's address; 0 is empty */
    Py_ssize_t at;          /* its place in olds */
} Entry;                    /* one cache line holds both halves of an answer */

typedef struct {
    PyObject_HEAD
    PyObject *olds, *news;
    Entry *table;
    size_t mask;
    /* One bit for each 4 KiB page of memory (hashed) that holds one of olds: most objects
     * a holder holds besides olds (a dict's keys, other items) lie in other pages (the
     * allocator keeps objects of one size together), which this tells without a look at
     * the table, itself anywhere in memory. Small enough to stay in the caches. */
    uint64_t *pages;
    size_t page_mask;
    /* Where the next lookup looks first: the place after the last one found. Containers
     * mostly hold instances in the order of olds (the order they were made, in which the
     * collector lists them), so that answer is mostly right, from olds itself (read in
     * order) instead of the table. -1 when olds repeats an object, whose answer must be
     * its first place (the table's). */
    Py_ssize_t next;
} Index;

/* Where the index looks for `address` first. The objects of one 4 KiB page of memory
 * keep their order in one run of 128 entries (one for each 32 bytes: no tracked object is
 * smaller, so a page's objects never overflow their run), and the pages are spread over the table
 * (as `slot_of` spreads addresses). Containers mostly hold instances in the order they
 * were made, which is mostly their order in memory: the lookups of a loop over a holder
 * then read the table in order, from the same few cache lines, rather than at random, and
 * the cost per instance does not grow once the table outgrows the processor's caches. */
static inline size_t
near_slot(uintptr_t address, size_t mask)
{
    uintptr_t page = address >> 12;
    size_t spread = (size_t)((page * (uintptr_t)0x9E3779B97F4A7C15ULL) >> 17) << 7;
    return (spread | (size_t)((address >> 5) & 0x7F)) & mask;
}

static inline size_t
page_bit(uintptr_t address, size_t page_mask)
{
    return (size_t)(((address >> 12) * (uintptr_t)0x9E3779B97F4A7C15ULL) >> 29) & page_mask;
}

static Py_ssize_t
index_find(Index *x, PyObject *op)
{
    size_t bit = page_bit((uintptr_t)op, x->page_mask);
    if (!(x->pages[bit >> 6] & ((uint64_t)1 << (bit & 63)))) {
        return -1;
    }
    Py_ssize_t next = x->next;
    if (next >= 0 && next < PyList_GET_SIZE(x->olds) && PyList_GET_ITEM(x->olds, next) == op) {
        x->next = next + 1;
        return next;
    }
    uintptr_t address = (uintptr_t)op;
    for (size_t s = near_slot(address, x->mask);; s = (s + 1) & x->mask) {
        if (x->table[s].key == address) {
            if (next >= 0) {
                x->next = x->table[s].at + 1;
            }
            return x->table[s].at;
        }
        if (x->table[s].key == 0) {
            return -1;
        }
    }
}

static void
index_dealloc(Index *x)
{
    PyObject_GC_UnTrack(x);
    Py_CLEAR(x->olds);
    Py_CLEAR(x->news);
    PyMem_Free(x->table);
    PyMem_Free(x->pages);
    PyTypeObject *tp = Py_TYPE(x);
    tp->tp_free((PyObject *)x);
}

static int
index_traverse(Index *x, visitproc visit, void *arg)
{
    Py_VISIT(x->olds);
    Py_VISIT(x->news);
    return 0;
}

static PyObject *
index_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *olds, *news;
    if (kwargs != NULL && PyDict_GET_SIZE(kwargs)) {
        PyErr_SetString(PyExc_TypeError, "Index takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "O!O!:Index", &PyList_Type, &olds, &PyList_Type, &news)) {
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(olds);
    if (PyList_GET_SIZE(news) != n) {
        PyErr_SetString(PyExc_ValueError, "olds and news differ in length");
        return NULL;
    }
    Index *x = (Index *)type->tp_alloc(type, 0);
    if (x == NULL) {
        return NULL;
    }
    /* copies: the caller's lists may change, the index must not */
    x->olds = PyList_GetSlice(olds, 0, n);
    x->news = PyList_GetSlice(news, 0, n);
    size_t size = 8;
    while (size < (size_t)n * 2) {
        size <<= 1;
    }
    x->table = PyMem_Calloc(size, sizeof(Entry));
    x->mask = size - 1;
    size_t bits = 4096;  /* about 32 bits for each page of olds (64 objects each or so) */
    while (bits < (size_t)n / 2) {
        bits <<= 1;
    }
    x->pages = PyMem_Calloc(bits / 64, sizeof(uint64_t));
    x->page_mask = bits - 1;
    if (x->olds == NULL || x->news == NULL || x->table == NULL || x->pages == NULL) {
        Py_DECREF(x);
        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        uintptr_t address = (uintptr_t)PyList_GET_ITEM(x->olds, i);
        size_t s = near_slot(address, x->mask);
        while (x->table[s].key != 0 && x->table[s].key != address) {
            s = (s + 1) & x->mask;
        }
        if (x->table[s].key == 0) {
            x->table[s].key = address;
            x->table[s].at = i;
        }
        else {
            x->next = -1;  /* a repeat keeps its first place: no guess by order */
        }
        size_t bit = page_bit(address, x->page_mask);
        x->pages[bit >> 6] |= (uint64_t)1 << (bit & 63);
    }
    return (PyObject *)x;
}

/* Add 1 to counts[i] for each reference `holder` (a list, dict, set or cell) has to
 * olds[i]. Returns -1 with an exception set if `holder` is none of those. */
static int
count_in(Index *x, PyObject *holder, Py_ssize_t *counts)
{
    Py_ssize_t i;
    if (PyList_CheckExact(holder)) {
        for (Py_ssize_t k = 0; k < PyList_GET_SIZE(holder); k++) {
            if ((i = index_find(x, PyList_GET_ITEM(holder, k))) >= 0) {
                counts[i]++;
            }
        }
    }
    else if (PyDict_CheckExact(holder)) {
        Py_ssize_t pos = 0;
        PyObject *key, *value;
        while (PyDict_Next(holder, &pos, &key, &value)) {
            if ((i = index_find(x, key)) >= 0) {
                counts[i]++;
            }
            if ((i = index_find(x, value)) >= 0) {
                counts[i]++;
            }
        }
    }
    else if (PyAnySet_CheckExact(holder)) {
        PyObject *it = PyObject_GetIter(holder), *key;  /* a set's own iterator, in C */
        if (it == NULL) {
            return -1;
        }
        while ((key = PyIter_Next(it)) != NULL) {
            if ((i = index_find(x, key)) >= 0) {
                counts[i]++;
            }
            Py_DECREF(key);
        }
        Py_DECREF(it);
        if (PyErr_Occurred()) {
            return -1;
        }
    }
    else if (PyCell_Check(holder)) {
        PyObject *value = PyCell_GET(holder);
        if (value != NULL && (i = index_find(x, value)) >= 0) {
            counts[i]++;
        }
    }
    else {
        PyErr_Format(PyExc_TypeError, "not a list, dict, set or cell: %R",
                     (PyObject *)Py_TYPE(holder));
        return -1;
    }
    return 0;
}

static PyObject *
index_stuck(Index *x, PyObject *args)
{
    PyObject *holders;
    Py_ssize_t base;
    if (!PyArg_ParseTuple(args, "O!n:stuck", &PyList_Type, &holders, &base)) {
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(x->olds);
    /* A weak reference is not counted in the reference count and cannot be rewritten (a
     * weakref to the old object can never reach its twin): an instance one refers to
     * stays. Asked only of instances whose type supports weak references. */
    PyObject *weak = PyImport_ImportModule("_weakref");
    PyObject *weakcount = weak == NULL ? NULL : PyObject_GetAttrString(weak, "getweakrefcount");
    Py_XDECREF(weak);
    if (weakcount == NULL) {
        return NULL;
    }
    Py_ssize_t *counts = PyMem_Calloc((size_t)n + 1, sizeof(Py_ssize_t));
    if (counts == NULL) {
        Py_DECREF(weakcount);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t h = 0; h < PyList_GET_SIZE(holders); h++) {
        if (count_in(x, PyList_GET_ITEM(holders, h), counts) < 0) {
            PyMem_Free(counts);
            Py_DECREF(weakcount);
            return NULL;
        }
    }
    PyObject *out = PyList_New(0);
    for (Py_ssize_t i = 0; out != NULL && i < n; i++) {
        PyObject *op = PyList_GET_ITEM(x->olds, i);
        int stuck = Py_REFCNT(op) != base + counts[i];
        if (!stuck && Py_TYPE(op)->tp_weaklistoffset != 0) {
            PyObject *refs = PyObject_CallOneArg(weakcount, op);
            stuck = refs == NULL ? -1 : PyObject_IsTrue(refs);
            Py_XDECREF(refs);
            if (stuck < 0) {
                Py_CLEAR(out);
                break;
            }
        }
        if (stuck) {
            PyObject *at = PyLong_FromSsize_t(i);
            if (at == NULL || PyList_Append(out, at) < 0) {
                Py_CLEAR(out);
            }
            Py_XDECREF(at);
        }
    }
    PyMem_Free(counts);
    Py_DECREF(weakcount);
    return out;
}

/* Whether `holder` (a list, dict, set or cell) holds one of olds; -1 on error. */
static int
holds_any(Index *x, PyObject *holder)
{
    if (PyList_CheckExact(holder)) {
        for (Py_ssize_t k = 0; k < PyList_GET_SIZE(holder); k++) {
            if (index_find(x, PyList_GET_ITEM(holder, k)) >= 0) {
                return 1;
            }
        }
        return 0;
    }
    if (PyDict_CheckExact(holder)) {
        Py_ssize_t pos = 0;
        PyObject *key, *value;
        while (PyDict_Next(holder, &pos, &key, &value)) {
            if (index_find(x, key) >= 0 || index_find(x, value) >= 0) {
                return 1;
            }
        }
        return 0;
    }
    if (PyCell_Check(holder)) {
        PyObject *value = PyCell_GET(holder);
        return value != NULL && index_find(x, value) >= 0;
    }
    PyObject *it = PyObject_GetIter(holder), *item;
    if (it == NULL) {
        return -1;
    }
    int found = 0;
    while (!found && (item = PyIter_Next(it)) != NULL) {
        found = index_find(x, item) >= 0;
        Py_DECREF(item);
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : found;
}

/* Whether hashing `key` again (a dict or set rebuilt, a value set) runs no Python code and
 * cannot fail: a string, number, bytes, None, or an object hashed by identity. */
static int
plain_key(PyObject *key)
{
    return PyUnicode_CheckExact(key) || PyLong_CheckExact(key) || key == Py_None
           || PyBool_Check(key) || PyFloat_CheckExact(key) || PyBytes_CheckExact(key)
           || Py_TYPE(key)->tp_hash == PyBaseObject_Type.tp_hash;
}

/* The replacement of `op`: news[i] if op is olds[i], else op (borrowed). */
static PyObject *
swapped(Index *x, PyObject *op)
{
    Py_ssize_t i = index_find(x, op);
    return i >= 0 ? PyList_GET_ITEM(x->news, i) : op;
}

/* Rebuild a dict or set whose keys (or members) include one of olds, in its order, each
 * old one in its place replaced; every key hashed again is `plain_key`. 1 done, 0 left to
 * the caller (a key that is not plain), -1 on error (the container as it was). */
static int
rebuild(Index *x, PyObject *c)
{
    int is_dict = PyDict_CheckExact(c);
    PyObject *items = is_dict ? PyDict_Items(c) : PySequence_List(c);
    if (items == NULL) {
        return -1;
    }
    Py_ssize_t n = PyList_GET_SIZE(items);
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *item = PyList_GET_ITEM(items, k);
        PyObject *key = is_dict ? PyTuple_GET_ITEM(item, 0) : item;
        if (!plain_key(key) || !plain_key(swapped(x, key))) {
            Py_DECREF(items);
            return 0;
        }
    }
    is_dict ? PyDict_Clear(c) : PySet_Clear(c);
    Py_ssize_t k = 0;
    for (; k < n; k++) {
        PyObject *item = PyList_GET_ITEM(items, k);
        int failed = is_dict
            ? PyDict_SetItem(c, swapped(x, PyTuple_GET_ITEM(item, 0)),
                             swapped(x, PyTuple_GET_ITEM(item, 1)))
            : PySet_Add(c, swapped(x, item));
        if (failed < 0) {
            break;  /* out of memory only: every key is plain */
        }
    }
    if (k == n) {
        Py_DECREF(items);
        return 1;
    }
    /* put it back as it was (hashing cannot fail, memory may), then raise the error */
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    is_dict ? PyDict_Clear(c) : PySet_Clear(c);
    for (Py_ssize_t j = 0; j < n; j++) {
        PyObject *item = PyList_GET_ITEM(items, j);
        if ((is_dict ? PyDict_SetItem(c, PyTuple_GET_ITEM(item, 0), PyTuple_GET_ITEM(item, 1))
                     : PySet_Add(c, item)) < 0) {
            PyErr_Clear();
            break;
        }
    }
    PyErr_Restore(type, value, tb);
    Py_DECREF(items);
    return -1;
}

static PyObject *
index_swap(Index *x, PyObject *holder)
{
    Py_ssize_t i;
    if (PyList_CheckExact(holder)) {
        for (Py_ssize_t k = 0; k < PyList_GET_SIZE(holder); k++) {
            if ((i = index_find(x, PyList_GET_ITEM(holder, k))) >= 0) {
                PyObject *old = PyList_GET_ITEM(holder, k);
                PyList_SET_ITEM(holder, k, Py_NewRef(PyList_GET_ITEM(x->news, i)));
                Py_DECREF(old);  /* still alive: the index holds it */
            }
        }
        Py_RETURN_TRUE;
    }
    if (PyCell_Check(holder)) {
        PyObject *value = PyCell_GET(holder);
        if (value != NULL && (i = index_find(x, value)) >= 0) {
            PyCell_SET(holder, Py_NewRef(PyList_GET_ITEM(x->news, i)));
            Py_DECREF(value);
        }
        Py_RETURN_TRUE;
    }
    if (PySet_CheckExact(holder)) {
        int any = holds_any(x, holder), done = any > 0 ? rebuild(x, holder) : any;
        if (done < 0) {
            return NULL;
        }
        return PyBool_FromLong(done || !any);
    }
    if (!PyDict_CheckExact(holder)) {
        Py_RETURN_FALSE;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    int keyed = 0;
    while (PyDict_Next(holder, &pos, &key, &value)) {
        if (!plain_key(key)) {
            Py_RETURN_FALSE;  /* the caller hashes those keys, ready to undo */
        }
        keyed = keyed || index_find(x, key) >= 0;
    }
    if (keyed) {
        int done = rebuild(x, holder);
        if (done < 0) {
            return NULL;
        }
        return PyBool_FromLong(done);
    }
    pos = 0;
    while (PyDict_Next(holder, &pos, &key, &value)) {
        if ((i = index_find(x, value)) >= 0) {
            /* the values of existing keys may change while the dict is walked */
            if (PyDict_SetItem(holder, key, PyList_GET_ITEM(x->news, i)) < 0) {
                return NULL;  /* out of memory only: the keys hash without fail */
            }
        }
    }
    Py_RETURN_TRUE;
}

static PyObject *
index_holders(Index *x, PyObject *boxes)
{
    if (!PyList_Check(boxes)) {
        PyErr_SetString(PyExc_TypeError, "holders() wants a list");
        return NULL;
    }
    PyObject *out = PyList_New(0);
    for (Py_ssize_t i = 0; out != NULL && i < PyList_GET_SIZE(boxes); i++) {
        PyObject *box = PyList_GET_ITEM(boxes, i);
        if (!PyList_CheckExact(box) && !PyDict_CheckExact(box) && !PySet_CheckExact(box)
                && !PyCell_Check(box)) {
            continue;
        }
        int holds = holds_any(x, box);
        if (holds < 0 || (holds && PyList_Append(out, box) < 0)) {
            Py_CLEAR(out);
        }
    }
    return out;
}

static PyMethodDef index_methods[] = {
    {"holders", (PyCFunction)index_holders, METH_O,
     "holders(boxes, /)\n--\n\nThe lists, dicts, sets and cells among `boxes` that hold one\n"
     "of olds (a dict: as key or value)."},
    {"stuck", (PyCFunction)index_stuck, METH_VARARGS,
     "stuck(holders, base, /)\n--\n\nThe positions i whose olds[i] has another reference\n"
     "count than `base` plus the references `holders` (lists, dicts, sets, cells) hold."},
    {"swap", (PyCFunction)index_swap, METH_O,
     "swap(holder, /)\n--\n\nPut news[i] in the place of olds[i] in a list, a cell, a\n"
     "set or a dict (keys and values; a dict or set holding one as a key is rebuilt in its\n"
     "order); False (nothing done) where a key's hash could run code, and for anything\n"
     "else."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject IndexType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hotswap._scan.Index",
    .tp_basicsize = sizeof(Index),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Index(olds, news, /): where each of olds stands, by address",
    .tp_new = index_new,
    .tp_dealloc = (destructor)index_dealloc,
    .tp_traverse = (traverseproc)index_traverse,
    .tp_methods = index_methods,
};

static int
add_index(PyObject *module)
{
    if (PyType_Ready(&IndexType) < 0) {
        return -1;
    }
    return PyModule_AddObjectRef(module, "Index", (PyObject *)&IndexType);
}

#if PY_VERSION_HEX >= 0x030C0000
static PyObject *
one_walk(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    Py_RETURN_TRUE;
}
#else
static PyObject *one_walk(PyObject *module, PyObject *Py_UNUSED(ignored));
#endif

PyDoc_STRVAR(one_walk_doc,
"one_walk()\n--\n\n"
"Whether `referrers` walks the collector's lists directly (one pass), rather than listing\n"
"the heap with gc.get_objects() first (3.11 where its layout could not be confirmed).");

static PyMethodDef methods[] = {
    {"referrers", referrers, METH_VARARGS, referrers_doc},
    {"copy_state", copy_state, METH_VARARGS, copy_state_doc},
    {"sort", sort_found, METH_VARARGS, sort_doc},
    {"one_walk", one_walk, METH_NOARGS, one_walk_doc},
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
    State *state = (State *)PyModule_GetState(module);
    state->get_objects = PyObject_GetAttrString(gc, "get_objects");
    int direct = state->get_objects == NULL ? -1 : generations_ok(gc);
    Py_DECREF(gc);
    if (direct < 0) {
        return -1;
    }
    state->direct = direct && getenv("HOTSWAP_SCAN_LISTS") == NULL;
    return add_index(module);
}

static PyObject *
one_walk(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(((State *)PyModule_GetState(module))->direct);
}

static int
scan_traverse(PyObject *module, visitproc visit, void *arg)
{
    Py_VISIT(((State *)PyModule_GetState(module))->get_objects);
    return 0;
}

static int
scan_clear(PyObject *module)
{
    Py_CLEAR(((State *)PyModule_GetState(module))->get_objects);
    return 0;
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, scan_exec},
    {0, NULL},
};
#define STATE_SIZE sizeof(State)
#define SLOTS slots
#define TRAVERSE scan_traverse
#define CLEAR scan_clear
#else
static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, add_index},
    {0, NULL},
};
#define STATE_SIZE 0
#define SLOTS slots
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
