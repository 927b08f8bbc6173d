"""A full-batch loop (no DataLoader) whose loss reads a global `batch`: the one-batch loader's item
must not take its place (issue 19)."""
import torch
import torch.nn.functional as F

torch.manual_seed(1)
batch = 1.0
x = torch.unsqueeze(torch.linspace(-1, 1, 100), dim=1)
y = x.pow(2) + 0.2 * torch.rand(x.size())


class Net(torch.nn.Module):
    def __init__(self, n_feature, n_hidden, n_output):
        super(Net, self).__init__()
        self.hidden = torch.nn.Linear(n_feature, n_hidden)
        self.drop = torch.nn.Dropout(0.1)
        self.predict = torch.nn.Linear(n_hidden, n_output)

    def forward(self, x):
        x = self.drop(F.relu(self.hidden(x)))
        return self.predict(x)


net = Net(n_feature=1, n_hidden=10, n_output=1)
optimizer = torch.optim.SGD(net.parameters(), lr=0.2)
loss_func = torch.nn.MSELoss()

for t in range(60):
    prediction = net(x)
    loss = loss_func(prediction, y) * batch
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if t % 20 == 0:
        print("step", t, "loss", loss.item())
