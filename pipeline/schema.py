"""`python -m pipeline.schema`: the documented way to regenerate schemas/event.schema.json."""

from pipeline.sources.schema import main

if __name__ == "__main__":
    raise SystemExit(main())
