"""Code after optimizer.step() that looks at the model: every 4 batches the loop measures the
just-updated model on held-out data. Lightning steps after the whole training_step, so that
code runs in on_train_batch_end; the loss print stays in training_step."""

import torch
from torch import nn

torch.manual_seed(0)
features, targets = torch.randn(64, 8), torch.randint(0, 3, (64,))
held_out, held_out_targets = torch.randn(16, 8), torch.randint(0, 3, (16,))
loader = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(features, targets), batch_size=8, shuffle=True
)

model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
criterion = nn.CrossEntropyLoss()

for epoch in range(2):
    for step, (x, y) in enumerate(loader):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        print(f"epoch {epoch} step {step} loss {loss.item():.4f}")
        if step % 4 == 0:
            with torch.no_grad():
                accuracy = (model(held_out).argmax(1) == held_out_targets).float().mean()
            print(f"held-out accuracy after step {step}: {accuracy.item():.3f}")
