# The loop's own items, one per step and unchanged, in its order: a DataLoader for the Trainer.
{loader} = torch.utils.data.DataLoader(
    list({items}), batch_size=None, collate_fn=lambda item: item, generator=torch.Generator()
)
