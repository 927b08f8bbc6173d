"""A patience counter on the validation loss, and nothing else in the check: EarlyStopping."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(11)
features = torch.randn(200, 5)
labels = features @ torch.randn(5) + 0.3 * torch.randn(200)
train_loader = DataLoader(TensorDataset(features[:160], labels[:160]), batch_size=16, shuffle=True)
val_loader = DataLoader(TensorDataset(features[160:], labels[160:]), batch_size=20)

model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 1), nn.Flatten(0))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
criterion = nn.MSELoss()

best_val = float("inf")
patience, bad_epochs = 2, 0
for epoch in range(40):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()

    model.eval()
    val_loss = 0.0
    with torch.no_grad():
        for x, y in val_loader:
            val_loss += criterion(model(x), y).item()
    val_loss /= len(val_loader)
    print(f"epoch {epoch}: validation loss {val_loss:.4f}")

    if val_loss < best_val:
        best_val = val_loss
        bad_epochs = 0
    else:
        bad_epochs += 1
        if bad_epochs >= patience:
            break
