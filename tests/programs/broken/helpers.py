def bucket_name(stack: str) -> str:
    if stack == "dev":
        raise ValueError(f"no bucket name is defined for stack {stack!r}")
    return f"data-{stack}"
