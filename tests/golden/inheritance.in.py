# A classifier is trained first; a subclass adds a reconstruction head and trains with its own loop.
import torch
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
x = torch.rand(128, 20)
y = (x.sum(dim=1) > 10).long()
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(20, 16), nn.ReLU())
        self.head = nn.Linear(16, 2)

    def forward(self, x):
        return self.head(self.body(x))


class Reconstructor(Classifier):
    """Keeps the classifier's layers and learns to reconstruct the input from its features."""

    def __init__(self):
        super().__init__()
        self.decoder = nn.Linear(16, 20)

    def forward(self, x):
        return self.decoder(self.body(x))


classifier = Classifier()
optimizer = optim.SGD(classifier.parameters(), lr=0.1)
loss_fn = nn.CrossEntropyLoss()
for epoch in range(3):
    for features, target in loader:
        optimizer.zero_grad()
        loss = loss_fn(classifier(features), target)
        loss.backward()
        optimizer.step()
    print("classifier epoch", epoch, "loss", round(loss.item(), 4))

reconstructor = Reconstructor()
recon_optimizer = optim.Adam(reconstructor.parameters(), lr=1e-3)
for epoch in range(2):
    for features, _ in loader:
        recon_optimizer.zero_grad()
        recon_loss = nn.functional.mse_loss(reconstructor(features), features)
        recon_loss.backward()
        recon_optimizer.step()

torch.save(classifier.state_dict(), "classifier.pt")
torch.save(reconstructor.state_dict(), "reconstructor.pt")
