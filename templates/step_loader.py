# One batch per epoch: training_step reads its tensors as the loop did. Its own generator keeps
# the loader from drawing on the global random state.
{loader} = torch.utils.data.DataLoader([0], generator=torch.Generator())
