"""Plain-text rendering of a design search for the command line."""

from __future__ import annotations

from collections.abc import Sequence

from designs.simon.results import SimonDesign, SimonSearchResult


def format_designs_table(result: SimonSearchResult) -> str:
    """A plain-text table of the admissible designs (minimax and optimal marked) for the CLI."""
    header = (f"Simon two-stage designs: p0 = {result.p0:g}, p1 = {result.p1:g}, "
              f"alpha = {result.alpha:g}, beta = {result.beta:g}, nmax = {result.nmax}")
    columns = ("design", "r1/n1", "r/n", "EN(p0)", "PET(p0)", "type I", "power", "q range")

    def rule(design: SimonDesign) -> tuple[int, int, int, int]:
        return (design.r1, design.n1, design.r, design.n)

    rows = []
    for design in result.admissible:
        labels = [label for label, named in (("minimax", result.minimax), ("optimal", result.optimal))
                  if rule(design) == rule(named)]
        lo, hi = design.q_range
        rows.append((
            "+".join(labels) or "admissible",
            f"{design.r1}/{design.n1}",
            f"{design.r}/{design.n}",
            f"{design.expected_n_null:.2f}",
            f"{design.pet_null:.3f}",
            f"{design.type_i_error:.4f}",
            f"{design.power:.4f}",
            f"[{lo:.3f}, {hi:.3f}]",
        ))
    widths = [max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:  # first column left-aligned, numbers right-aligned
        first, *rest = zip(cells, widths, strict=True)
        return "  ".join([first[0].ljust(first[1]), *(cell.rjust(width) for cell, width in rest)])

    lines = [header, "", line(columns), line(["-" * width for width in widths])]
    lines.extend(line(row) for row in rows)
    lines.append("")
    lines.append("Stop after stage 1 if responders <= r1 of n1; declare promising if responders > r of n.")
    lines.append("q range: weights q for which the design minimises q*n + (1-q)*EN(p0) (Jung et al. 2004).")
    lines.extend(f"warning: {warning['message']}" for warning in result.warnings)
    return "\n".join(lines)
