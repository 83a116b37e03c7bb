"""Safe arithmetic for counts like '3*4' or '(10+2)/3': a tiny parser over the ast, no eval."""

import ast
import operator

OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Div: operator.truediv,
}
MAX_LEN = 40


def evaluate(text: str) -> int | None:
    text = text.strip()
    if not text or len(text) > MAX_LEN:
        return None
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return None
    try:
        value = _value(tree.body)
    except (ValueError, ZeroDivisionError):
        return None
    return int(value) if value == int(value) else None


def _value(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in OPS:
        return OPS[type(node.op)](_value(node.left), _value(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_value(node.operand)
    raise ValueError("not arithmetic")
