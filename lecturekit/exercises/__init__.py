"""Exercises with automatic feedback, one checker module per lecture (`check_00`, `check_01`, ...).

In an exercise notebook a student writes a function and passes it to its checker:

    from lecturekit.exercises import check_03
    check_03.gaussian_kl(gaussian_kl)

which prints "✓ ..." when every case passes, or the first failing case, what was expected, what
came back and a hint (naming the mistake when it is a typical one), and returns True or False.
An unwritten exercise (a stub raising NotImplementedError) reads "not attempted yet".

    python -m lecturekit.exercises build [--output-dir DIR]

writes the student copies of notebooks/exercises/*.ipynb, solutions replaced by stubs, and

    python -m lecturekit.exercises build --nbgrader DIR

an nbgrader course folder with one graded test cell per exercise (see `build`).
"""
