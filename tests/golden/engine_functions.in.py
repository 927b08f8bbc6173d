"""The "engine" layout many courses teach: train() holds the epoch loop and calls train_step()
and test_step() each epoch; the script builds each model and its optimizer, then trains two of
them with it, keeping each run's results. Each call takes the place of its function (the model
and optimizer are the caller's), and each run becomes its own Trainer run."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
x = torch.randn(96, 8)
y = (x[:, 0] + x[:, 1] > 0).long()
train_loader = DataLoader(TensorDataset(x[:64], y[:64]), batch_size=16, shuffle=True)
test_loader = DataLoader(TensorDataset(x[64:], y[64:]), batch_size=16)


class Net(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(8, hidden), nn.ReLU(), nn.Linear(hidden, 2))

    def forward(self, x):
        return self.layers(x)


def train_step(model, loader, loss_fn, optimizer):
    model.train()
    train_loss, train_acc = 0.0, 0.0
    for X, y in loader:
        y_pred = model(X)
        loss = loss_fn(y_pred, y)
        train_loss += loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        train_acc += (y_pred.argmax(1) == y).sum().item() / len(y_pred)
    return train_loss / len(loader), train_acc / len(loader)


def test_step(model, loader, loss_fn):
    model.eval()
    test_loss, test_acc = 0.0, 0.0
    with torch.inference_mode():
        for X, y in loader:
            y_pred = model(X)
            test_loss += loss_fn(y_pred, y).item()
            test_acc += (y_pred.argmax(1) == y).sum().item() / len(y_pred)
    return test_loss / len(loader), test_acc / len(loader)


def train(model, train_loader, test_loader, optimizer, loss_fn=nn.CrossEntropyLoss(), epochs=2):
    results = {"train_loss": [], "test_acc": []}
    for epoch in range(epochs):
        train_loss, train_acc = train_step(model, train_loader, loss_fn, optimizer)
        test_loss, test_acc = test_step(model, test_loader, loss_fn)
        print(f"epoch {epoch}: train {train_loss:.4f} {train_acc:.2f}, test {test_loss:.4f} {test_acc:.2f}")
        results["train_loss"].append(train_loss)
        results["test_acc"].append(test_acc)
    return results


model_0 = Net(16)
optimizer = torch.optim.SGD(model_0.parameters(), lr=0.1)
model_0_results = train(model_0, train_loader, test_loader, optimizer)

model_1 = Net(32)
optimizer = torch.optim.Adam(model_1.parameters(), lr=0.01)
model_1_results = train(
    model=model_1,
    train_loader=train_loader,
    test_loader=test_loader,
    optimizer=optimizer,
    epochs=3,
)
print(model_0_results["test_acc"][-1], round(model_1_results["train_loss"][-1], 4))
