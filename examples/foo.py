"""The seed example from the notes: b = (x + 5) * y, so db/dx = y and db/dy = x + 5."""


def foo(x, y):
    a = x + 5
    b = a * y
    return b


if __name__ == "__main__":
    import s2sad

    grad_foo = s2sad.grad(foo, wrt=(0, 1))
    print(s2sad.source(grad_foo))
    print("grad_foo(2.0, 3.0) =", grad_foo(2.0, 3.0))
