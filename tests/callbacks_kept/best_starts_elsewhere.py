# kept: the best does not start at inf
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
train_loader = DataLoader(TensorDataset(torch.randn(64, 4), torch.randn(64, 1)), batch_size=8)
val_loader = DataLoader(TensorDataset(torch.randn(16, 4), torch.randn(16, 1)), batch_size=8)
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
best_val, bad_epochs = 1e9, 0
for epoch in range(20):
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
    val_loss = 0.0
    with torch.no_grad():
        for x, y in val_loader:
            val_loss += nn.functional.mse_loss(model(x), y).item()
    val_loss /= len(val_loader)
    print(f"validation loss {val_loss:.4f}")
    if val_loss < best_val:
        best_val, bad_epochs = val_loss, 0
    else:
        bad_epochs += 1
        if bad_epochs >= 2:
            break
