"""``python -m storyframe``."""

from storyframe.cli import main

if __name__ == "__main__":
    main()
