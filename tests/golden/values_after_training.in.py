"""Values the loop sets, read after training: the last loss, the best epoch's, the test's total."""
import torch
from torch import nn
import torch.nn.functional as F

torch.manual_seed(0)
train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(64, 8), torch.randint(0, 3, (64,))), batch_size=16, shuffle=True)
test_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(32, 8), torch.randint(0, 3, (32,))), batch_size=16)
net = nn.Linear(8, 3)
optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
train_loss = []
best_loss = float("inf")
for epoch in range(2):
    for batch_idx, (x, y) in enumerate(train_loader):
        loss = F.cross_entropy(net(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        train_loss.append(loss.item())
    best_loss = min(best_loss, loss.item())
print(len(train_loss), "steps, final loss", round(loss.item(), 4), "best", round(best_loss, 4))

total_correct = 0
for x, y in test_loader:
    out = net(x)
    pred = out.argmax(dim=1)
    correct = pred.eq(y).sum().float().item()
    total_correct += correct

total_num = len(test_loader.dataset)
acc = total_correct / total_num
print('test acc:', acc)
