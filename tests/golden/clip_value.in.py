"""An RNN regressor with gradient clipping by value and a StepLR every epoch."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(9)
sequences = torch.randn(128, 10, 3)
targets = sequences.sum(dim=(1, 2)).unsqueeze(1) / 10
loader = DataLoader(TensorDataset(sequences, targets), batch_size=16, shuffle=True)


class SequenceRegressor(nn.Module):
    def __init__(self, hidden=24):
        super().__init__()
        self.rnn = nn.GRU(3, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.head(output[:, -1])


model = SequenceRegressor()
optimizer = torch.optim.RMSprop(model.parameters(), lr=0.01)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
criterion = nn.SmoothL1Loss()

for epoch in range(4):
    total = 0.0
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.5)
        optimizer.step()
        total += loss.item()
    scheduler.step()
    print(f"epoch {epoch}: mean loss {total / len(loader):.4f}, lr {scheduler.get_last_lr()[0]}")

torch.save(model.state_dict(), "rnn.pt")
