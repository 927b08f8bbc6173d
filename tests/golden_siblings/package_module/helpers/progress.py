def bar(items, every):
    """A stand-in for a progress bar: yields the items, saying how far it got."""
    for number, item in enumerate(items, 1):
        if number % every == 0:
            print(f"  {number} batches")
        yield item
