"""The closed set of primitives, and the one place that maps Python onto them.

Each primitive is a member of ``Prim`` whose value is its name in the IR text
(``b = mul a y``). ``SPEC`` says how to evaluate it (constant folding), how to spell it in
generated Python (an operator or a call) and whether it carries a derivative. The frontend
turns Python operators and resolved callables into primitives only through
``BINARY_OPS``, ``UNARY_OPS``, ``COMPARE_OPS`` and ``prim_of_callable``::

    prim_of_callable(math.sin) -> Prim.SIN      BINARY_OPS[gast.Mult] -> Prim.MUL
"""

from __future__ import annotations

import builtins
import dataclasses
import enum
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass

import gast


class Prim(enum.Enum):
    # Python arithmetic
    ADD = "add"
    SUB = "sub"
    MUL = "mul"
    DIV = "div"
    POW = "pow"
    FLOORDIV = "floordiv"  # derivative zero almost everywhere
    MOD = "mod"
    NEG = "neg"
    POS = "pos"
    # builtins
    ABS = "abs"
    MIN = "min"  # of two
    MAX = "max"  # of two
    FLOAT = "float"
    INT = "int"  # inactive
    # comparisons and logic: inactive (their results are booleans)
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    EQ = "eq"
    NE = "ne"
    NOT = "not"
    # math module
    SIN = "math.sin"
    COS = "math.cos"
    TAN = "math.tan"
    ASIN = "math.asin"
    ACOS = "math.acos"
    ATAN = "math.atan"
    ATAN2 = "math.atan2"
    SINH = "math.sinh"
    COSH = "math.cosh"
    TANH = "math.tanh"
    EXP = "math.exp"
    EXPM1 = "math.expm1"
    LOG = "math.log"
    LOG1P = "math.log1p"
    LOG2 = "math.log2"
    LOG10 = "math.log10"
    SQRT = "math.sqrt"
    MATH_POW = "math.pow"
    HYPOT = "math.hypot"
    ERF = "math.erf"
    LGAMMA = "math.lgamma"
    DIGAMMA = "digamma"  # the derivative of lgamma (a helper of generated code)
    FABS = "math.fabs"
    FLOOR = "math.floor"  # inactive
    CEIL = "math.ceil"  # inactive
    TRUNC = "math.trunc"  # inactive
    # compiler-introduced
    COPY = "copy"  # v = u: names a value (the seed ``dbdb = 1.0``, ``dbdx = dbda``)
    ZEROS_LIKE = "zeros_like"  # the derivative of an input the output ignores
    ZEROS = "zeros"  # an array of zeros like an array: an adjoint written into by index
    IS_ARRAY = "is_array"  # `a += y` writes into a when a is an array (a number is rebound)
    SHARES_MEMORY = "shares_memory"  # after a = x[i], `a += y` writes into x: a is a view
    # the reverse-mode tape: a Python list
    TAPE = "tape"  # tape = []
    PUSH = "push"  # tape.append(v) or tape.append((a, b)); defines nothing
    POP = "pop"  # v = tape.pop() or a, b = tape.pop()
    # NumPy, elementwise (broadcasting)
    NP_SIN = "np.sin"
    NP_COS = "np.cos"
    NP_TAN = "np.tan"
    NP_ARCSIN = "np.arcsin"
    NP_ARCCOS = "np.arccos"
    NP_ARCTAN = "np.arctan"
    NP_SINH = "np.sinh"
    NP_COSH = "np.cosh"
    NP_TANH = "np.tanh"
    NP_EXP = "np.exp"
    NP_EXPM1 = "np.expm1"
    NP_LOG = "np.log"
    NP_LOG1P = "np.log1p"
    NP_LOG2 = "np.log2"
    NP_LOG10 = "np.log10"
    NP_SQRT = "np.sqrt"
    NP_SQUARE = "np.square"
    NP_ABS = "np.abs"
    NP_NEGATIVE = "np.negative"
    NP_ADD = "np.add"
    NP_SUBTRACT = "np.subtract"
    NP_MULTIPLY = "np.multiply"
    NP_DIVIDE = "np.divide"
    NP_POWER = "np.power"
    NP_MAXIMUM = "np.maximum"
    NP_MINIMUM = "np.minimum"
    NP_ARCTAN2 = "np.arctan2"
    NP_HYPOT = "np.hypot"
    NP_WHERE = "np.where"  # where(c, x, y): c carries no derivative
    NP_CLIP = "np.clip"  # clip(x, lo, hi)
    NP_SIGN = "np.sign"  # inactive, like the rest of this group
    NP_FLOOR = "np.floor"
    NP_CEIL = "np.ceil"
    NP_ROUND = "np.round"
    NP_ISNAN = "np.isnan"
    NP_ISFINITE = "np.isfinite"
    NP_LOGICAL_AND = "np.logical_and"
    NP_LOGICAL_OR = "np.logical_or"
    NP_LOGICAL_NOT = "np.logical_not"
    # NumPy reductions (axis=None, keepdims=False)
    NP_SUM = "np.sum"
    NP_MEAN = "np.mean"
    NP_PROD = "np.prod"
    NP_MAX = "np.max"
    NP_MIN = "np.min"
    NP_VAR = "np.var"  # ddof
    NP_STD = "np.std"
    NP_ARGMAX = "np.argmax"  # inactive
    NP_ARGMIN = "np.argmin"
    # NumPy linear algebra
    MATMUL = "matmul"  # a @ b
    NP_MATMUL = "np.matmul"
    NP_DOT = "np.dot"
    NP_OUTER = "np.outer"
    NP_INNER = "np.inner"
    NP_EINSUM = "np.einsum"  # subscripts is a constant parameter
    NP_TRACE = "np.trace"
    NP_TRANSPOSE = "np.transpose"  # axes
    T = "T"  # x.T
    SOLVE = "np.linalg.solve"
    INV = "np.linalg.inv"
    DET = "np.linalg.det"
    SLOGDET = "np.linalg.slogdet"  # sign, logdet
    NORM = "np.linalg.norm"  # vector 2-norm / Frobenius
    CHOLESKY = "np.linalg.cholesky"
    SVD = "np.linalg.svd"  # compute_uv=False: s; else u, s, vh
    # NumPy shapes
    NP_RESHAPE = "np.reshape"  # reshape(x, shape)
    NP_RAVEL = "np.ravel"
    NP_EXPAND_DIMS = "np.expand_dims"
    NP_SQUEEZE = "np.squeeze"
    NP_BROADCAST_TO = "np.broadcast_to"
    NP_STACK = "np.stack"  # stack(list, axis): the list is a LIST value
    NP_CONCATENATE = "np.concatenate"
    NP_COPY = "np.copy"
    NP_ASARRAY = "np.asarray"
    NP_ARRAY = "np.array"
    # construction and queries: inactive
    NP_ZEROS = "np.zeros"
    NP_ONES = "np.ones"
    NP_EYE = "np.eye"
    NP_IDENTITY = "np.identity"
    NP_ARANGE = "np.arange"
    NP_LINSPACE = "np.linspace"
    NP_FULL = "np.full"
    NP_ZEROS_LIKE = "np.zeros_like"
    NP_ONES_LIKE = "np.ones_like"
    NP_SHAPE = "np.shape"
    NP_NDIM = "np.ndim"
    NP_SIZE = "np.size"
    SHAPE = "shape"  # x.shape
    NDIM = "ndim"  # x.ndim
    SIZE = "size"  # x.size
    LEN = "len"
    SUM = "sum"  # sum(xs) of a list
    # a call to a user function, or to a derivative s2sad generated for one
    CALL = "call"  # r1, r2 = call a b fn='g'
    # the adjoint of a checkpointed loop, recomputing its iterations (s2sad/helpers.py)
    CHECKPOINTED = "checkpointed"
    # containers and indexing
    LIST = "list"  # [a, b, c]
    TUPLE = "tuple"  # (a, b, c)
    GETITEM = "getitem"  # x[i]; the index is one value (a slice, a tuple, ...)
    SETITEM = "setitem"  # x.1 = setitem x i v: x with x[i] = v (emitted in place)
    INDEX_ADD = "index_add"  # g.1 = index_add g i v: g with g[i] += v (in place)
    APPEND = "append"  # l.1 = append l v: l with v appended (in place)
    # helpers the generated code defines (s2sad/helpers.py)
    UNBROADCAST = "unbroadcast"  # sum g down to the shape of x
    BROADCAST_LIKE = "broadcast_like"  # g broadcast up to the shape of x
    UNREDUCE = "unreduce"  # the adjoint of a reduction, broadcast back to the operand
    SPREAD = "spread"  # the adjoint of sum(xs): g for every item
    ADD_ITEMS = "add_items"  # two lists' adjoints added item by item
    SOLVE_GRAD_A = "solve_grad_a"
    CHOLESKY_TANGENT = "cholesky_tangent"
    CHOLESKY_GRAD = "cholesky_grad"
    SVD_VALUES_TANGENT = "svd_values_tangent"
    SVD_VALUES_GRAD = "svd_values_grad"
    SVD_TANGENT = "svd_tangent"
    SVD_GRAD = "svd_grad"
    EINSUM_GRAD = "einsum_grad"
    UNSTACK = "unstack"  # the adjoint of np.stack: the items along axis
    UNCONCATENATE = "unconcatenate"  # the adjoint of np.concatenate: the pieces
    MATMUL_GRAD_A = "matmul_grad_a"  # the adjoint of a in a @ b
    MATMUL_GRAD_B = "matmul_grad_b"  # the adjoint of b in a @ b
    # the adjoint of a fixed b (a) read by `a @ b` in every iteration of a loop, summed
    # after it: the sum of matmul_grad_b over lists of the iterations' g and a (passes.batched)
    MATMUL_GRAD_B_SUM = "matmul_grad_b_sum"
    MATMUL_GRAD_A_SUM = "matmul_grad_a_sum"
    EXTREMUM_GRAD = "extremum_grad"  # the adjoint of max/min over axis
    PROD_GRAD = "prod_grad"
    DOT_GRAD_A = "dot_grad_a"
    DOT_GRAD_B = "dot_grad_b"
    INNER_GRAD_A = "inner_grad_a"
    INNER_GRAD_B = "inner_grad_b"
    TRACE_GRAD = "trace_grad"
    TRACE_LAST = "trace_last"
    MT = "mT"  # the last two axes swapped
    DET_GRAD = "det_grad"
    LOGDET_GRAD = "logdet_grad"
    SETITEM_GRAD = "setitem_grad"  # g[index], where later duplicate writes took it

    # members are singletons compared by identity: hash them as objects, in C (Enum's
    # hash of the member's name is Python code, and every pass looks primitives up)
    __hash__ = object.__hash__

    @property
    def spec(self) -> PrimSpec:
        return SPEC[self]

    @property
    def arity(self) -> tuple[int, int]:
        return SPEC[self].arity

    @property
    def n_results(self) -> tuple[int, int]:
        """How many results an op of this primitive defines (a range)."""
        return SPEC[self].n_results


@dataclass(frozen=True)
class PrimSpec:
    """How to evaluate and spell one primitive.

    ``infix``/``prefix`` name a Python operator; otherwise ``call`` is the dotted name of the
    function the generated code calls (``math.sin``; ``math``/``np`` are bound by the
    emitter). ``active`` is False when the result never carries a derivative.
    """

    evaluate: Callable[..., object] | None
    arity: tuple[int, int]
    infix: str | None = None
    prefix: str | None = None
    call: str | None = None
    active: bool = True
    n_results: tuple[int, int] = (1, 1)
    effect: bool = False  # changes state (the tape): never removed, never reordered
    # operands that carry a derivative (None: all of them)
    diff: tuple[int, ...] | None = None
    # keyword parameters with their defaults, in positional order after the operands
    keywords: tuple[tuple[str, object], ...] = ()
    # elementwise: the result is shaped like the operands broadcast together
    elementwise: bool = False
    # the result has shape () whatever the operands (math.*, len, a full reduction)
    scalar: bool = False
    # a reduction: shape () when axis is None and keepdims is False
    reduction: bool = False
    attr: str | None = None  # spelled as an attribute: x.T, x.shape
    in_place: bool = False  # emitted as a statement on operand 0 (x[i] = v)

    def is_diff(self, k: int) -> bool:
        return self.diff is None or k in self.diff


def _shares_memory(a: object, x: object) -> bool:
    import numpy as np

    return isinstance(a, np.ndarray) and isinstance(x, np.ndarray) and np.shares_memory(a, x)


def _zeros(x: object) -> object:
    import numpy as np

    return np.zeros_like(x)


def _is_array(x: object) -> bool:
    import numpy as np

    return isinstance(x, np.ndarray)


def _zeros_like(x: object) -> object:
    import numpy as np

    if isinstance(x, (int, float)):
        return 0.0
    return np.zeros_like(x)[()]


P = Prim
SPEC: dict[Prim, PrimSpec] = {
    P.ADD: PrimSpec(operator.add, (2, 2), infix="+"),
    P.SUB: PrimSpec(operator.sub, (2, 2), infix="-"),
    P.MUL: PrimSpec(operator.mul, (2, 2), infix="*"),
    P.DIV: PrimSpec(operator.truediv, (2, 2), infix="/"),
    P.POW: PrimSpec(operator.pow, (2, 2), infix="**"),
    P.FLOORDIV: PrimSpec(operator.floordiv, (2, 2), infix="//", active=False),
    P.MOD: PrimSpec(operator.mod, (2, 2), infix="%"),
    P.NEG: PrimSpec(operator.neg, (1, 1), prefix="-"),
    P.POS: PrimSpec(operator.pos, (1, 1), prefix="+"),
    P.ABS: PrimSpec(builtins.abs, (1, 1), call="abs"),
    P.MIN: PrimSpec(builtins.min, (2, 2), call="min"),
    P.MAX: PrimSpec(builtins.max, (2, 2), call="max"),
    P.FLOAT: PrimSpec(builtins.float, (1, 1), call="float"),
    P.INT: PrimSpec(builtins.int, (1, 1), call="int", active=False),
    P.LT: PrimSpec(operator.lt, (2, 2), infix="<", active=False),
    P.LE: PrimSpec(operator.le, (2, 2), infix="<=", active=False),
    P.GT: PrimSpec(operator.gt, (2, 2), infix=">", active=False),
    P.GE: PrimSpec(operator.ge, (2, 2), infix=">=", active=False),
    P.EQ: PrimSpec(operator.eq, (2, 2), infix="==", active=False),
    P.NE: PrimSpec(operator.ne, (2, 2), infix="!=", active=False),
    P.NOT: PrimSpec(operator.not_, (1, 1), prefix="not ", active=False),
    P.COPY: PrimSpec(lambda x: x, (1, 1)),
    P.ZEROS_LIKE: PrimSpec(_zeros_like, (1, 1), call="_zeros_like", active=False,
                           scalar=False),
    P.ZEROS: PrimSpec(_zeros, (1, 1), call="_zeros", active=False),
    P.IS_ARRAY: PrimSpec(_is_array, (1, 1), call="_is_array", active=False, scalar=True),
    P.SHARES_MEMORY: PrimSpec(_shares_memory, (2, 2), call="_shares_memory", active=False,
                              scalar=True),
    P.TAPE: PrimSpec(None, (0, 0), active=False, effect=True),
    P.PUSH: PrimSpec(None, (2, 1 << 20), active=False, n_results=(0, 0), effect=True),
    P.POP: PrimSpec(None, (1, 1), active=False, n_results=(1, 1 << 20), effect=True),
}

def _np(name: str) -> Callable[..., object]:
    import numpy

    obj: object = numpy
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj  # type: ignore[return-value]


_NP_UNARY = ("sin cos tan arcsin arccos arctan sinh cosh tanh exp expm1 log log1p log2 "
             "log10 sqrt square abs negative").split()
_NP_BINARY = "add subtract multiply divide power maximum minimum arctan2 hypot".split()
_NP_FLAT = "sign floor ceil round isnan isfinite logical_not".split()
_AXIS = (("axis", None), ("keepdims", False))
for _name in _NP_UNARY:
    SPEC[Prim("np." + _name)] = PrimSpec(_np(_name), (1, 1), call="np." + _name,
                                         elementwise=True)
for _name in _NP_BINARY:
    SPEC[Prim("np." + _name)] = PrimSpec(_np(_name), (2, 2), call="np." + _name,
                                         elementwise=True)
for _name in _NP_FLAT:
    SPEC[Prim("np." + _name)] = PrimSpec(_np(_name), (1, 1), call="np." + _name,
                                         elementwise=True, active=False)
for _name in ("logical_and", "logical_or"):
    SPEC[Prim("np." + _name)] = PrimSpec(_np(_name), (2, 2), call="np." + _name,
                                         elementwise=True, active=False)
for _name in ("sum", "mean", "prod", "max", "min"):
    SPEC[Prim("np." + _name)] = PrimSpec(_np(_name), (1, 1), call="np." + _name,
                                         keywords=_AXIS, reduction=True)
for _name in ("var", "std"):
    SPEC[Prim("np." + _name)] = PrimSpec(_np(_name), (1, 1), call="np." + _name,
                                         keywords=(("axis", None), ("ddof", 0),
                                                   ("keepdims", False)), reduction=True)
for _name in ("argmax", "argmin"):
    SPEC[Prim("np." + _name)] = PrimSpec(_np(_name), (1, 1), call="np." + _name,
                                         keywords=(("axis", None),), active=False)
SPEC.update({
    P.NP_WHERE: PrimSpec(_np("where"), (3, 3), call="np.where", diff=(1, 2),
                         elementwise=True),
    P.NP_CLIP: PrimSpec(_np("clip"), (3, 3), call="np.clip", elementwise=True),
    P.MATMUL: PrimSpec(operator.matmul, (2, 2), infix="@"),
    P.NP_MATMUL: PrimSpec(_np("matmul"), (2, 2), call="np.matmul"),
    P.NP_DOT: PrimSpec(_np("dot"), (2, 2), call="np.dot"),
    P.NP_OUTER: PrimSpec(_np("outer"), (2, 2), call="np.outer"),
    P.NP_INNER: PrimSpec(_np("inner"), (2, 2), call="np.inner"),
    P.NP_EINSUM: PrimSpec(_np("einsum"), (2, 2), call="np.einsum",
                          keywords=(("subscripts", None),)),
    P.NP_TRACE: PrimSpec(_np("trace"), (1, 1), call="np.trace"),
    P.NP_TRANSPOSE: PrimSpec(_np("transpose"), (1, 1), call="np.transpose",
                             keywords=(("axes", None),)),
    P.T: PrimSpec(lambda x: x.T, (1, 1), attr="T"),
    P.SOLVE: PrimSpec(_np("linalg.solve"), (2, 2), call="np.linalg.solve"),
    P.INV: PrimSpec(_np("linalg.inv"), (1, 1), call="np.linalg.inv"),
    P.DET: PrimSpec(_np("linalg.det"), (1, 1), call="np.linalg.det"),
    P.SLOGDET: PrimSpec(_np("linalg.slogdet"), (1, 1), call="np.linalg.slogdet",
                        n_results=(2, 2)),
    P.NORM: PrimSpec(_np("linalg.norm"), (1, 1), call="np.linalg.norm", keywords=_AXIS,
                     reduction=True),
    P.CHOLESKY: PrimSpec(_np("linalg.cholesky"), (1, 1), call="np.linalg.cholesky"),
    P.SVD: PrimSpec(_np("linalg.svd"), (1, 1), call="np.linalg.svd", n_results=(1, 3),
                    keywords=(("full_matrices", True), ("compute_uv", True))),
    P.NP_RESHAPE: PrimSpec(_np("reshape"), (2, 2), call="np.reshape", diff=(0,)),
    P.NP_RAVEL: PrimSpec(_np("ravel"), (1, 1), call="np.ravel"),
    P.NP_EXPAND_DIMS: PrimSpec(_np("expand_dims"), (1, 1), call="np.expand_dims",
                               keywords=(("axis", None),)),
    P.NP_SQUEEZE: PrimSpec(_np("squeeze"), (1, 1), call="np.squeeze",
                           keywords=(("axis", None),)),
    P.NP_BROADCAST_TO: PrimSpec(_np("broadcast_to"), (2, 2), call="np.broadcast_to",
                                diff=(0,)),
    P.NP_STACK: PrimSpec(_np("stack"), (1, 1), call="np.stack", keywords=(("axis", 0),)),
    P.NP_CONCATENATE: PrimSpec(_np("concatenate"), (1, 1), call="np.concatenate",
                               keywords=(("axis", 0),)),
    P.NP_COPY: PrimSpec(_np("copy"), (1, 1), call="np.copy"),
    P.NP_ASARRAY: PrimSpec(_np("asarray"), (1, 1), call="np.asarray"),
    P.NP_ARRAY: PrimSpec(_np("array"), (1, 1), call="np.array"),
    P.NP_ZEROS_LIKE: PrimSpec(_np("zeros_like"), (1, 1), call="np.zeros_like", active=False),
    P.NP_ONES_LIKE: PrimSpec(_np("ones_like"), (1, 1), call="np.ones_like", active=False),
    P.NP_SHAPE: PrimSpec(_np("shape"), (1, 1), call="np.shape", active=False),
    P.NP_NDIM: PrimSpec(_np("ndim"), (1, 1), call="np.ndim", active=False, scalar=True),
    P.NP_SIZE: PrimSpec(_np("size"), (1, 1), call="np.size", active=False, scalar=True),
    P.SHAPE: PrimSpec(lambda x: x.shape, (1, 1), attr="shape", active=False),
    P.NDIM: PrimSpec(lambda x: x.ndim, (1, 1), attr="ndim", active=False, scalar=True),
    P.SIZE: PrimSpec(lambda x: x.size, (1, 1), attr="size", active=False, scalar=True),
    P.LEN: PrimSpec(builtins.len, (1, 1), call="len", active=False, scalar=True),
    P.SUM: PrimSpec(builtins.sum, (1, 1), call="sum"),
    P.CALL: PrimSpec(None, (0, 1 << 20), n_results=(1, 1 << 20), keywords=(("fn", ""),)),
    # operands: start stop step, the first state, the invariants, the last state's adjoint
    P.CHECKPOINTED: PrimSpec(None, (3, 1 << 20), call="_checkpointed", n_results=(1, 1 << 20),
                             diff=(), keywords=(("step", ""), ("vjp", ""), ("carried", 0),
                                                ("wrt", ()), ("states", 0),
                                                ("reverse", False))),
    P.LIST: PrimSpec(lambda *xs: list(xs), (0, 1 << 20)),
    P.TUPLE: PrimSpec(lambda *xs: tuple(xs), (0, 1 << 20)),
    # indexing: the index's parts follow as operands; the ``index`` parameter says how they
    # make the index (``'_, 1:_'`` is ``x[a, 1:b]`` for operands ``x, a, 1, b``)
    P.GETITEM: PrimSpec(None, (1, 1 << 20), diff=(0,),
                        keywords=(("index", "_"), ("copy", False))),
    P.SETITEM: PrimSpec(None, (2, 1 << 20), diff=(0, 1), in_place=True,
                        keywords=(("index", "_"),)),
    P.INDEX_ADD: PrimSpec(None, (2, 1 << 20), diff=(0, 1), in_place=True,
                          keywords=(("index", "_"), ("unique", False))),
    P.APPEND: PrimSpec(None, (2, 2), in_place=True),
    P.UNBROADCAST: PrimSpec(None, (2, 2), call="_unbroadcast", diff=(0,)),
    P.BROADCAST_LIKE: PrimSpec(None, (2, 2), call="_broadcast_like", diff=(0,)),
    P.UNREDUCE: PrimSpec(None, (2, 2), call="_unreduce", diff=(0,), keywords=_AXIS),
    P.SPREAD: PrimSpec(None, (2, 2), call="_spread", diff=(0,)),
    P.ADD_ITEMS: PrimSpec(None, (2, 2), call="_add_items"),
    P.DIGAMMA: PrimSpec(None, (1, 1), call="_digamma", scalar=True, active=False),
    P.SOLVE_GRAD_A: PrimSpec(None, (2, 2), call="_solve_grad_a"),
    P.CHOLESKY_TANGENT: PrimSpec(None, (2, 2), call="_cholesky_tangent"),
    P.CHOLESKY_GRAD: PrimSpec(None, (2, 2), call="_cholesky_grad"),
    P.SVD_VALUES_TANGENT: PrimSpec(None, (2, 2), call="_svd_values_tangent"),
    P.SVD_VALUES_GRAD: PrimSpec(None, (2, 2), call="_svd_values_grad"),
    P.SVD_TANGENT: PrimSpec(None, (5, 5), call="_svd_tangent", n_results=(3, 3)),
    P.SVD_GRAD: PrimSpec(None, (7, 7), call="_svd_grad"),
    P.EINSUM_GRAD: PrimSpec(None, (4, 4), call="_einsum_grad", diff=(1, 2)),
    P.UNSTACK: PrimSpec(None, (1, 1), call="_unstack", keywords=(("axis", 0),)),
    P.UNCONCATENATE: PrimSpec(None, (2, 2), call="_unconcatenate", diff=(0,),
                              keywords=(("axis", 0),)),
    P.MATMUL_GRAD_A: PrimSpec(None, (3, 3), call="_matmul_grad_a", diff=(0, 2)),
    P.MATMUL_GRAD_B: PrimSpec(None, (3, 3), call="_matmul_grad_b", diff=(0, 1)),
    # put in after differentiation, read back as the loop they sum (frontend): no rules
    P.MATMUL_GRAD_B_SUM: PrimSpec(None, (3, 3), call="_matmul_grad_b_sum", diff=(0, 1)),
    P.MATMUL_GRAD_A_SUM: PrimSpec(None, (3, 3), call="_matmul_grad_a_sum", diff=(0, 2)),
    P.EXTREMUM_GRAD: PrimSpec(None, (3, 3), call="_extremum_grad", diff=(0,),
                              keywords=_AXIS),
    P.PROD_GRAD: PrimSpec(None, (2, 2), call="_prod_grad", keywords=_AXIS),
    P.DOT_GRAD_A: PrimSpec(None, (3, 3), call="_dot_grad_a", diff=(0, 2)),
    P.DOT_GRAD_B: PrimSpec(None, (3, 3), call="_dot_grad_b", diff=(0, 1)),
    P.INNER_GRAD_A: PrimSpec(None, (3, 3), call="_inner_grad_a", diff=(0, 2)),
    P.INNER_GRAD_B: PrimSpec(None, (3, 3), call="_inner_grad_b", diff=(0, 1)),
    P.TRACE_GRAD: PrimSpec(None, (2, 2), call="_trace_grad", diff=(0,)),
    P.TRACE_LAST: PrimSpec(None, (1, 1), call="_trace_last"),
    P.MT: PrimSpec(None, (1, 1), call="_mT"),
    P.DET_GRAD: PrimSpec(None, (3, 3), call="_det_grad"),
    P.LOGDET_GRAD: PrimSpec(None, (2, 2), call="_logdet_grad"),
    P.SETITEM_GRAD: PrimSpec(None, (1, 1 << 20), call="_setitem_grad", diff=(0,),
                             keywords=(("index", "_"),)),
})
for _name, _fn in (("zeros", "zeros"), ("ones", "ones"), ("eye", "eye"),
                   ("identity", "identity"),
                   ("arange", "arange"), ("linspace", "linspace"), ("full", "full")):
    SPEC[Prim("np." + _name)] = PrimSpec(_np(_fn), (1, 3), call="np." + _name, active=False)
for _prim in Prim:
    if _prim.value.startswith("math."):
        _name = _prim.value[len("math."):]
        SPEC[_prim] = PrimSpec(
            getattr(math, _name), (2, 2) if _name in ("atan2", "pow", "hypot") else (1, 1),
            call=_prim.value, active=_name not in ("floor", "ceil", "trunc"), scalar=True)
for _prim in (P.FLOAT, P.INT, P.LT, P.LE, P.GT, P.GE, P.EQ, P.NE, P.NOT, P.ADD, P.SUB, P.MUL,
              P.DIV, P.POW, P.FLOORDIV, P.MOD, P.NEG, P.POS, P.ABS, P.COPY):
    SPEC[_prim] = dataclasses.replace(SPEC[_prim], elementwise=True)
for _prim in (P.FLOAT, P.INT, P.MIN, P.MAX):  # the builtins take numbers only
    SPEC[_prim] = dataclasses.replace(SPEC[_prim], scalar=True)

_BY_NAME = {p.value: p for p in Prim}


def prim_by_name(name: str) -> Prim | None:
    return _BY_NAME.get(name)


# --- the one mapping from Python onto primitives -----------------------------------------

BINARY_OPS: dict[type, Prim] = {
    gast.Add: P.ADD, gast.Sub: P.SUB, gast.Mult: P.MUL, gast.Div: P.DIV, gast.Pow: P.POW,
    gast.FloorDiv: P.FLOORDIV, gast.Mod: P.MOD, gast.MatMult: P.MATMUL,
}
UNARY_OPS: dict[type, Prim] = {gast.USub: P.NEG, gast.UAdd: P.POS, gast.Not: P.NOT}
COMPARE_OPS: dict[type, Prim] = {
    gast.Lt: P.LT, gast.LtE: P.LE, gast.Gt: P.GT, gast.GtE: P.GE, gast.Eq: P.EQ,
    gast.NotEq: P.NE,
}

_CALLABLES: dict[object, Prim] = {
    builtins.abs: P.ABS, builtins.min: P.MIN, builtins.max: P.MAX, builtins.float: P.FLOAT,
    builtins.int: P.INT,
}
for _prim, _spec in SPEC.items():
    if _spec.call and _spec.call.startswith("math."):
        _CALLABLES[getattr(math, _spec.call[5:])] = _prim


_CALLABLES[builtins.len] = P.LEN
_CALLABLES[builtins.sum] = P.SUM
for _prim, _spec in SPEC.items():
    if _spec.call and _spec.call.startswith("np."):
        _CALLABLES[_np(_spec.call[3:])] = _prim
for _alias, _prim in (("absolute", P.NP_ABS), ("amax", P.NP_MAX), ("amin", P.NP_MIN),
                      ("true_divide", P.NP_DIVIDE)):
    if hasattr(__import__("numpy"), _alias):
        _CALLABLES[_np(_alias)] = _prim


_PYTHON_RESULTS = {P.NP_SIZE, P.NP_NDIM, P.NP_SHAPE}  # np.* functions returning int, tuple
_FOLLOWS_OPERANDS = {P.ADD, P.SUB, P.MUL, P.DIV, P.POW, P.FLOORDIV, P.MOD, P.NEG, P.POS,
                     P.ABS, P.COPY}
# NumPy's functions, @, .T and _unreduce's: a set, as the shape analysis asks for every op
_NUMPY_RESULTS = frozenset({p for p in P if p.value.startswith("np.")}
                           | {P.MATMUL, P.T, P.UNREDUCE}) - _PYTHON_RESULTS


def numpy_result(prim: Prim, numpy_operands: list[bool]) -> bool:
    """Whether a result of ``prim`` is certainly a NumPy object (an array or a NumPy
    scalar), given which operands are (for ``getitem``, only the indexed value counts):
    NumPy functions' results, ``@``, ``.T``, ``_unreduce``'s, and Python arithmetic or an
    entry of a NumPy object. Arithmetic on one follows NumPy: inf and nan, not
    ZeroDivisionError."""
    if prim in _NUMPY_RESULTS:
        return True
    if prim in _FOLLOWS_OPERANDS or prim is P.GETITEM:
        return any(numpy_operands)
    return False


def prim_of_callable(obj: object) -> Prim | None:
    """The primitive a resolved callee stands for (``math.sin`` -> ``Prim.SIN``), if any."""
    try:
        return _CALLABLES.get(obj)
    except TypeError:  # an unhashable object is no primitive
        return None
