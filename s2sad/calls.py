"""The derivatives of the user functions a derivative calls: generated once each.

A call ``r = g(a, b)`` in code being differentiated stays a call. Forward mode calls
``jvp_g(a, b, da) -> (r, dr)``; reverse mode keeps ``r = g(a, b)`` in its forward sweep and
calls ``vjp_g(a, b, dr) -> da`` in its backward sweep, which runs ``g`` again inside (joint
reversal, as Tapenade does by default: each call is a checkpoint, so the caller's tape holds
no values of the callee). Each function is generated once per set of differentiated
arguments, whatever the number of call sites, and written into the same module::

    def jvp_g(a, b, da):            # g differentiated with respect to a
        ...
        return r, dr
"""

from __future__ import annotations

from . import naming
from .errors import UnsupportedSyntax
from .ir import Const, Function, Names, Op, Param, Var, all_names
from .primitives import Prim


class Calls:
    def __init__(self, callees: dict, check=None, taken: set[str] | None = None,
                 checkpoints: bool = True) -> None:
        self.callees = callees  # name -> frontend.Lowered
        self.checkpoints = checkpoints  # False: tape every loop (for second derivatives)
        # module-level names in use: the user's code's, the derivatives being made, and
        # the functions generated here so far
        self.taken = set(taken or ())
        self.names: dict[tuple, str] = {}  # (kind, callee, wrt) -> its generated name
        self.functions: dict[str, Function] = {}  # generated name -> its IR
        self.check = check
        self.making: set[str] = set()
        # callee name -> its cleaned-up IR (_primal_ir): asked for by every derivative of
        # it and every name made for one, and the same each time (the callees do not
        # change while a derivative is made)
        self.primal_irs: dict[str, Function] = {}

    def _primal_ir(self, name: str) -> Function:
        from .passes import checkpoint, cleanup  # the passes call back into this module

        if name not in self.callees:  # a derivative generated here (hvp: jvp of vjp_g)
            return self.functions[name]
        if name in self.primal_irs:
            return self.primal_irs[name]
        fn = self.callees[name].fn
        fn = cleanup(fn, primal=all_names(fn))
        if not self.checkpoints:
            fn = checkpoint.run(fn, False)
        # inside the module every argument is passed by position
        fn = fn.replace(params=tuple(Param(p.var) for p in fn.params))
        self.primal_irs[name] = fn
        return fn

    def primal(self, name: str) -> str:
        """``g`` itself, as generated code (the module cannot import the user's file)."""
        if name not in self.functions and name not in self.making:
            self.making.add(name)
            self.functions[name] = self._primal_ir(name)
            self.require_primals(self.functions[name])
            self.making.discard(name)
        return name

    def require_primals(self, fn: Function) -> None:
        """The callees ``fn`` calls as they are (no derivative), as generated code."""
        from .ir import Op, regions_of
        from .primitives import Prim

        def walk(body) -> None:
            for stmt in body:
                if isinstance(stmt, Op) and stmt.prim is Prim.CALL:
                    self.primal(dict(stmt.params)["fn"].value)
                for region in regions_of(stmt):
                    walk(region.body)

        walk(fn.body)

    def _name(self, kind: str, name: str, wrt: tuple[int, ...]) -> str:
        """``jvp_g`` (``jvp_g_wrt_a`` for some arguments), with a suffix where the user's
        code, a derivative being made or another generated function has that name."""
        key = (kind, name, wrt)
        if key not in self.names:
            fn = self._primal_ir(name)
            wanted = f"{kind}_{name}" if len(wrt) == len(fn.params) else \
                f"{kind}_{name}_wrt_" + "_".join(fn.params[k].var.base for k in wrt)
            self.names[key] = naming.unused(wanted, self.taken)
            self.taken.add(self.names[key])
        return self.names[key]

    def jvp(self, name: str, wrt: tuple[int, ...]) -> str:
        """``jvp_g(*args, *tangents of wrt) -> (*results, *their tangents)``."""
        from .passes import cleanup, forward

        generated = self._name("jvp", name, wrt)
        if generated not in self.functions and generated not in self.making:
            self.making.add(generated)
            primal = self._primal_ir(name)
            rule = self.rule(name, "tangent")
            fn = forward.run(primal, wrt, calls=self) if rule is None \
                else self.tangent_by_rule(primal, wrt, rule)
            outs, tangents = fn.out
            outs = outs if isinstance(outs, tuple) else (outs,)
            tangents = tangents if isinstance(tangents, tuple) else (tangents,)
            fn = fn.replace(name=generated, out=(*outs, *tangents))
            self.functions[generated] = self._checked(cleanup(fn, primal=all_names(primal)))
            self.making.discard(generated)
        return generated

    def vjp(self, name: str, wrt: tuple[int, ...], generated: str | None = None,
            scalars: tuple[Var, ...] = ()) -> str:
        """``vjp_g(*args, *cotangents of the results) -> gradients of wrt``.

        ``scalars``: values of ``g`` the caller knows are numbers."""
        from .passes import cleanup, reverse

        generated = generated or self._name("vjp", name, wrt)
        if generated not in self.functions and generated not in self.making:
            self.making.add(generated)
            primal = self._primal_ir(name)
            if any(isinstance(o, tuple) for o in
                   (primal.out if isinstance(primal.out, tuple) else ())):
                raise UnsupportedSyntax.at(primal.loc, f"`{name}` returns nested tuples; "
                                           "return a flat tuple of values")
            rule = self.rule(name, "adjoint")
            fn = reverse.run(primal, wrt, cotangent=True, wrt_is_tuple=True, calls=self,
                             scalars=scalars) \
                if rule is None else self.adjoint_by_rule(primal, wrt, rule)
            gradients = fn.out[1]
            fn = fn.replace(name=generated, out=gradients if len(wrt) > 1 else gradients[0],
                            keep=())
            self.functions[generated] = self._checked(
                cleanup(fn, scalars, primal=all_names(primal)))
            self.making.discard(generated)
        return generated

    def loop_step(self, step: Function, wrt: tuple[int, ...],
                  scalars: tuple[Var, ...] = ()) -> tuple[str, str]:
        """A checkpointed loop as a function of its own, ``step(start, stop, step,
        *carried, *invariants) -> carried`` running some of its iterations, and its adjoint
        ``vjp_step`` (``wrt``: positions in ``step``'s parameters); returns both names."""
        name = naming.unused(step.name, self.taken | set(self.callees) | set(self.functions))
        self.taken.add(name)
        self.functions[name] = self._checked(step.replace(name=name))
        self.require_primals(step)
        adjoint = self.names[("vjp", name, wrt)] = naming.unused(f"vjp_{name}", self.taken)
        self.taken.add(adjoint)
        return name, self.vjp(name, wrt, generated=adjoint, scalars=scalars)

    def rule(self, name: str, kind: str) -> str | None:
        """The user's rule of this kind for ``name`` (@s2sad.custom_derivative), if any."""
        lowered = self.callees.get(name)
        rule = lowered.rules.get(kind) if lowered is not None else None
        if rule is not None:
            self.primal(rule)
            self.primal(name)
        return rule

    def tangent_by_rule(self, primal: Function, wrt: tuple[int, ...], rule: str) -> Function:
        """``r = g(*args); dr = rule(*args, *tangents)``, zeros for arguments not in wrt."""
        names = Names.of(primal)
        args = tuple(p.var for p in primal.params)
        tangents = {k: names.fresh(naming.differential(args[k].base)) for k in wrt}
        outs = primal.out if isinstance(primal.out, tuple) else (primal.out,)
        results = tuple(names.temp() for _ in outs)
        douts = tuple(names.temp() for _ in outs)
        full = tuple(tangents.get(k, Const(0.0)) for k in range(len(args)))
        body = (Op(results, Prim.CALL, args, (("fn", Const(primal.name)),), primal.loc),
                Op(douts, Prim.CALL, (*args, *full), (("fn", Const(rule)),), primal.loc))
        params = primal.params + tuple(Param(tangents[k]) for k in wrt)
        out = (results, douts) if len(outs) > 1 else (results[0], douts[0])
        return Function(primal.name, params, body, out, (), primal.loc)

    def adjoint_by_rule(self, primal: Function, wrt: tuple[int, ...], rule: str) -> Function:
        """``grads = rule(*args, *cotangents)``: one contribution per argument (a tuple
        for several), of which the ones for ``wrt`` are returned."""
        names = Names.of(primal)
        args = tuple(p.var for p in primal.params)
        outs = primal.out if isinstance(primal.out, tuple) else (primal.out,)
        cotangents = tuple(names.fresh(naming.differential(
            o.base if isinstance(o, Var) and not o.is_temp else f"out{k}"))
            for k, o in enumerate(outs))
        grads = tuple(names.temp() for _ in args)
        body = (Op(grads, Prim.CALL, (*args, *cotangents), (("fn", Const(rule)),),
                   primal.loc),)
        params = primal.params + tuple(Param(c) for c in cotangents)
        return Function(primal.name, params, body, (primal.out, tuple(grads[k] for k in wrt)),
                        (), primal.loc)

    def _checked(self, fn: Function) -> Function:
        if self.check is not None:
            self.check(fn)
        return fn

    def bindings(self) -> dict[str, object]:
        merged: dict[str, object] = {}
        for lowered in self.callees.values():
            merged.update(lowered.bindings)
        return merged

    def ordered(self) -> list[Function]:
        return [self.functions[k] for k in sorted(self.functions)]
