"""A module whose own ``reversed`` shadows the builtin (a test of
``test_control_flow.test_a_users_stack_walked_backwards_is_lowered_as_pops``)."""


def reversed(xs):  # noqa: A001 -- a user's own function of that name
    return xs


def walk_with_own_reversed(x, y):
    xs = []
    for i in range(3):
        xs.append(x * i + y)
    s = y
    for v in reversed(xs):
        s = s * v
    return s
