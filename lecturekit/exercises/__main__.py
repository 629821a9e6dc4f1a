"""`python -m lecturekit.exercises build`: see lecturekit.exercises.build."""
import sys

from .build import main

sys.exit(main())
