"""The walk that takes an expression apart from the top and returns its :class:`Step` tree:
sum, constant multiple, product, quotient, powers, the function rules and the chain rule, within
a budget of steps and depth (past it, the rest is differentiated directly)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp

from symgd.base.i18n import _, n_
from symgd.calculus.rule_table import FUNCTION_RULES
from symgd.calculus.step import Step, names_text, operator_latex, quote, treat_as_constant
from symgd.expr.activations import as_symgd_functions

#: steps in one tree before the rest is differentiated directly
MAX_STEPS = 600

#: nesting of steps before the rest is differentiated directly
MAX_DEPTH = 40


class RuleBuilder:
    """Walks an expression and returns its :class:`Step` tree, within a budget of steps."""

    def __init__(self, others: tuple[sp.Symbol, ...], taken: set[str]) -> None:
        self.others = set(others)
        self.taken = set(taken)  # names the letter for u must avoid
        self.count = 0
        self.chain_level = 0

    # -- helpers ---------------------------------------------------------------------------
    def fresh(self) -> sp.Symbol:
        """A real symbol for the inner function ``u``, named apart from every symbol in use."""
        preferred = ["u", "w", "s", "t", "r", "q", "p"]
        start = self.chain_level % len(preferred)
        for name in preferred[start:] + preferred[:start]:
            if name not in self.taken:
                return sp.Symbol(name, real=True)
        index = 1
        while f"u{index}" in self.taken:
            index += 1
        return sp.Symbol(f"u{index}", real=True)

    def op(self, variable: sp.Symbol, partial: bool) -> str:
        return operator_latex(variable, partial)

    def make(
        self,
        rule: str,
        expr: sp.Expr,
        result: sp.Expr,
        variable: sp.Symbol,
        partial: bool,
        *,
        substeps: tuple[Step, ...] = (),
        inner: sp.Expr | None = None,
        explanation: str,
        formula: str,
        says_held: bool = False,
    ) -> Step:
        self.count += 1
        return Step(
            rule=rule,
            expression=expr,
            result=result,
            variable=variable,
            substeps=substeps,
            inner=inner,
            explanation=explanation,
            formula_latex=formula,
            partial=partial,
            says_held=says_held,
        )

    def direct(self, expr: sp.Expr, variable: sp.Symbol, partial: bool, *, reason: str) -> Step:
        result = sp.diff(expr, variable)
        op = self.op(variable, partial)
        if reason == "no_rule":
            rule = "no_rule"
            text = _(
                "No rule from the table applies to {expr}, so it is differentiated directly: "
                "the result is {result}."
            ).format(expr=quote(expr), result=quote(result))
        else:
            rule = "direct"
            text = _(
                "This part is too large to take apart step by step here, so it is "
                "differentiated directly: the result is {result}."
            ).format(result=quote(result))
        formula = rf"{op}\,f = f'"
        return self.make(rule, expr, result, variable, partial, explanation=text, formula=formula)

    # -- dispatch --------------------------------------------------------------------------
    def build(self, expr: sp.Expr, v: sp.Symbol, partial: bool, depth: int) -> Step:
        if depth > MAX_DEPTH or self.count >= MAX_STEPS:
            return self.direct(expr, v, partial, reason="too_large")
        if not expr.has(v):
            return self.constant(expr, v, partial)
        if expr == v:
            op = self.op(v, partial)
            return self.make(
                "variable",
                expr,
                sp.S.One,
                v,
                partial,
                explanation=_("The derivative of {name} with respect to itself is 1.").format(
                    name=v.name
                ),
                formula=rf"{op}\,{sp.latex(v)} = 1",
            )
        if isinstance(expr, sp.Add):
            return self.sum(expr, v, partial, depth)
        if isinstance(expr, sp.Mul):
            return self.mul(expr, v, partial, depth)
        if isinstance(expr, sp.Pow):
            return self.power(expr, v, partial, depth)
        if isinstance(expr, sp.Function) and type(expr) in FUNCTION_RULES:
            return self.function(expr, v, partial, depth)
        return self.direct(expr, v, partial, reason="no_rule")

    # -- the rules -------------------------------------------------------------------------
    def constant(self, expr: sp.Expr, v: sp.Symbol, partial: bool) -> Step:
        op = self.op(v, partial)
        symbols = expr.free_symbols
        if not symbols:
            return self.make(
                "constant",
                expr,
                sp.S.Zero,
                v,
                partial,
                explanation=_("{expr} is a constant, so its derivative is 0.").format(
                    expr=quote(expr)
                ),
                formula=rf"{op}\,c = 0",
            )
        if expr in self.others or isinstance(expr, sp.Symbol):
            text = _(
                "Treat {held} as a constant: it does not change when {name} changes, "
                "so its derivative is 0."
            ).format(held=expr, name=v.name)
        else:
            text = n_(
                "Treat {names} as a constant: {expr} does not involve {name}, "
                "so its derivative is 0.",
                "Treat {names} as constants: {expr} does not involve {name}, "
                "so its derivative is 0.",
                len(symbols),
            ).format(names=names_text(symbols), expr=quote(expr), name=v.name)
        return self.make(
            "other_variable",
            expr,
            sp.S.Zero,
            v,
            partial,
            explanation=text,
            formula=rf"{op}\,c = 0",
            says_held=True,
        )

    def sum(self, expr: sp.Add, v: sp.Symbol, partial: bool, depth: int) -> Step:
        terms = expr.as_ordered_terms()
        subs = tuple(self.build(t, v, partial, depth + 1) for t in terms)
        result = sp.Add(*(s.result for s in subs))
        negative = any(t.could_extract_minus_sign() for t in terms)
        text = (
            _(
                "Sum and difference rule: differentiate each of the {count} terms on its own "
                "and add the results."
            )
            if negative
            else _(
                "Sum rule: differentiate each of the {count} terms on its own and add the results."
            )
        ).format(count=len(terms))
        op = self.op(v, partial)
        return self.make(
            "sum",
            expr,
            result,
            v,
            partial,
            substeps=subs,
            explanation=text,
            formula=rf"{op}\left[f \pm g\right] = {op} f \pm {op} g",
        )

    def mul(self, expr: sp.Mul, v: sp.Symbol, partial: bool, depth: int) -> Step:
        constant: list[sp.Expr] = []
        numerator: list[sp.Expr] = []
        denominator: list[sp.Expr] = []
        for factor in expr.args:
            if not factor.has(v):
                constant.append(factor)
            elif isinstance(factor, sp.Pow) and factor.exp.is_number and factor.exp.is_negative:
                denominator.append(sp.Pow(factor.base, -factor.exp))
            else:
                numerator.append(factor)
        op = self.op(v, partial)
        if constant:
            c = sp.Mul(*constant)
            rest = sp.Mul(*(f for f in expr.args if f.has(v)))
            sub = self.build(rest, v, partial, depth + 1)
            held = c.free_symbols
            if c == -1:
                text = _(
                    "Constant multiple rule: the minus sign stays in front of the "
                    "derivative of {rest}."
                ).format(rest=quote(rest))
            elif held:
                text = n_(
                    "Treat {names} as a constant: the constant factor {factor} stays "
                    "and multiplies the derivative of {rest}.",
                    "Treat {names} as constants: the constant factor {factor} stays "
                    "and multiplies the derivative of {rest}.",
                    len(held),
                ).format(names=names_text(held), factor=quote(c), rest=quote(rest))
            else:
                text = _(
                    "Constant multiple rule: the factor {factor} stays and "
                    "multiplies the derivative of {rest}."
                ).format(factor=quote(c), rest=quote(rest))
            return self.make(
                "constant_multiple",
                expr,
                c * sub.result,
                v,
                partial,
                substeps=(sub,),
                explanation=text,
                formula=rf"{op}\left[c\,f\right] = c\,{op} f",
                says_held=bool(held) and c != -1,
            )
        if denominator and (numerator or len(denominator) > 1):
            return self.quotient(expr, sp.Mul(*numerator), sp.Mul(*denominator), v, partial, depth)
        return self.product(expr, expr.args, v, partial, depth)

    def product(
        self, expr: sp.Expr, factors: Sequence[sp.Expr], v: sp.Symbol, partial: bool, depth: int
    ) -> Step:
        subs = tuple(self.build(f, v, partial, depth + 1) for f in factors)
        terms = []
        for i, sub in enumerate(subs):
            rest = [f for j, f in enumerate(factors) if j != i]
            terms.append(sp.Mul(sub.result, *rest))
        op = self.op(v, partial)
        if len(factors) == 2:
            text = _(
                "Product rule: the derivative of the first factor times the second, "
                "plus the first times the derivative of the second."
            )
            formula = rf"{op}\left[f g\right] = \left({op} f\right) g + f\,{op} g"
        else:
            text = _(
                "Product rule for {count} factors: differentiate one factor at a "
                "time, keep the others as they are, and add the results."
            ).format(count=len(factors))
            formula = (
                rf"{op}\left[f_1 f_2 \cdots f_n\right] = "
                rf"\sum_{{i=1}}^{{n}} f_1 \cdots \left({op} f_i\right) \cdots f_n"
            )
        return self.make(
            "product",
            expr,
            sp.Add(*terms),
            v,
            partial,
            substeps=subs,
            explanation=text,
            formula=formula,
        )

    def quotient(
        self, expr: sp.Expr, top: sp.Expr, bottom: sp.Expr, v: sp.Symbol, partial: bool, depth: int
    ) -> Step:
        sub_top = self.build(top, v, partial, depth + 1)
        sub_bottom = self.build(bottom, v, partial, depth + 1)
        result = (sub_top.result * bottom - top * sub_bottom.result) / bottom**2
        op = self.op(v, partial)
        text = _(
            "Quotient rule with numerator {top} and denominator {bottom}: "
            "(numerator' · denominator − numerator · denominator') / denominator²."
        ).format(top=quote(top), bottom=quote(bottom))
        formula = (
            rf"{op}\left[\frac{{f}}{{g}}\right] = "
            rf"\frac{{\left({op} f\right) g - f\,{op} g}}{{g^{{2}}}}"
        )
        return self.make(
            "quotient",
            expr,
            result,
            v,
            partial,
            substeps=(sub_top, sub_bottom),
            explanation=text,
            formula=formula,
        )

    def power(self, expr: sp.Pow, v: sp.Symbol, partial: bool, depth: int) -> Step:
        base, exponent = expr.base, expr.exp
        op = self.op(v, partial)
        if not exponent.has(v):
            if base != v:
                return self.chain(expr, base, lambda u: sp.Pow(u, exponent), v, partial, depth)
            return self.power_of_variable(expr, v, partial)
        if not base.has(v):
            if base.is_zero:  # 0**x: undefined for x < 0, so no rule applies
                return self.direct(expr, v, partial, reason="no_rule")
            if exponent != v:
                return self.chain(expr, exponent, lambda u: sp.Pow(base, u), v, partial, depth)
            held = base.free_symbols
            lead = treat_as_constant(held) + " " if held else ""
            result = expr * sp.log(base)
            return self.make(
                "exponential",
                expr,
                result,
                v,
                partial,
                explanation=lead
                + _(
                    "Exponential rule for the constant base {base}: the derivative of {expr} "
                    "is {result}."
                ).format(base=quote(base), expr=quote(expr), result=quote(result)),
                formula=rf"{op}\,a^{{{sp.latex(v)}}} = a^{{{sp.latex(v)}}} \ln a",
                says_held=bool(held),
            )
        # both the base and the exponent depend on the variable: f**g = exp(g*log(f))
        logarithm = exponent * sp.log(base)
        sub = self.build(logarithm, v, partial, depth + 1)
        return self.make(
            "general_power",
            expr,
            expr * sub.result,
            v,
            partial,
            substeps=(sub,),
            explanation=_(
                "Both the base and the exponent of {expr} change with {name}: write it as "
                "exp({logarithm}) and use the chain rule, so the derivative is the power "
                "itself times the derivative of its logarithm (logarithmic differentiation)."
            ).format(expr=quote(expr), name=v.name, logarithm=quote(logarithm)),
            formula=(rf"{op}\left[f^{{g}}\right] = f^{{g}}\,{op}\left[g \ln f\right]"),
        )

    def power_of_variable(self, expr: sp.Pow, v: sp.Symbol, partial: bool) -> Step:
        n = expr.exp
        t = sp.latex(v)
        op = self.op(v, partial)
        if n == sp.S.Half:
            result = 1 / (2 * sp.sqrt(v))
            return self.make(
                "sqrt",
                expr,
                result,
                v,
                partial,
                explanation=_(
                    "Square root rule: the derivative of sqrt({name}) is {result}."
                ).format(name=v.name, result=quote(result)),
                formula=rf"{op}\sqrt{{{t}}} = \frac{{1}}{{2\sqrt{{{t}}}}}",
            )
        result = n * v ** (n - 1)
        held = n.free_symbols
        lead = treat_as_constant(held) + " " if held else ""
        return self.make(
            "power",
            expr,
            result,
            v,
            partial,
            explanation=lead
            + _(
                "Power rule: bring the exponent {exponent} down in front and lower it by one, "
                "giving {result}."
            ).format(exponent=quote(n), result=quote(result)),
            formula=rf"{op}\,{t}^{{n}} = n\,{t}^{{n-1}}",
            says_held=bool(held),
        )

    def function(self, expr: sp.Function, v: sp.Symbol, partial: bool, depth: int) -> Step:
        argument = expr.args[0]
        extra = expr.args[1:]
        if any(a.has(v) for a in extra):
            return self.direct(expr, v, partial, reason="no_rule")
        if type(expr) is sp.Abs and argument.is_real is not True:
            # SymPy's |u| has slope sign(u) only where it can prove u real (symgd's Abs always)
            return self.direct(expr, v, partial, reason="no_rule")
        if argument != v:
            func = expr.func
            return self.chain(expr, argument, lambda u: func(u, *extra), v, partial, depth)
        table = FUNCTION_RULES[type(expr)]
        result = table.derivative(v, expr)
        t = sp.latex(v)
        op = self.op(v, partial)
        return self.make(
            table.rule,
            expr,
            result,
            v,
            partial,
            explanation=_(table.sentence).format(
                f=quote(expr), d=quote(result), a=quote(getattr(expr, "slope", sp.S.Zero))
            ),
            formula=rf"{op}\left[{table.left(t)}\right] = {table.right(t)}",
        )

    def chain(
        self,
        expr: sp.Expr,
        inner: sp.Expr,
        outer: Callable[[sp.Symbol], sp.Expr],
        v: sp.Symbol,
        partial: bool,
        depth: int,
    ) -> Step:
        u = self.fresh()
        self.taken.add(u.name)
        self.chain_level += 1
        try:
            outside = outer(u)
            outer_step = self.build(outside, u, False, depth + 1)
            inner_step = self.build(inner, v, partial, depth + 1)
        finally:
            self.chain_level -= 1
            self.taken.discard(u.name)
        # |u| and sign(u) of a u SymPy cannot prove real: symgd's, as in sp.diff's answer
        result = as_symgd_functions(outer_step.result.xreplace({u: inner})) * inner_step.result
        op = self.op(v, partial)
        name = sp.latex(u)
        d_inner = (
            rf"\frac{{\partial {name}}}{{\partial {sp.latex(v)}}}"
            if partial
            else rf"\frac{{d {name}}}{{d {sp.latex(v)}}}"
        )
        return self.make(
            "chain",
            expr,
            result,
            v,
            partial,
            substeps=(outer_step, inner_step),
            inner=inner,
            explanation=_(
                "Chain rule with {u} = {inner}: differentiate the outer function {outer} with "
                "respect to {u}, put {inner} back in for {u}, and multiply by the derivative "
                "of {u}."
            ).format(u=u.name, inner=quote(inner), outer=quote(outside)),
            formula=(rf"{op}\,f({name}) = f'({name})\,{d_inner}"),
        )
