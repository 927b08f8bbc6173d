"""Dict batches through tqdm, a per-batch OneCycleLR, gradient clipping, and an evaluation
function decorated with @torch.no_grad()."""
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm


class Pairs(Dataset):
    def __init__(self, n):
        g = torch.Generator().manual_seed(n)
        self.features = torch.randn(n, 6, generator=g)
        self.labels = (self.features[:, 0] > 0).long()

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"features": self.features[i], "label": self.labels[i]}


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 2))

    def forward(self, features):
        return self.layers(features)


@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    correct = 0
    for batch in loader:
        logits = model(batch["features"])
        correct += (logits.argmax(dim=1) == batch["label"]).sum().item()
    print(f"accuracy {correct / len(loader.dataset):.3f}")


def main():
    torch.manual_seed(3)
    train_loader = DataLoader(Pairs(256), batch_size=32, shuffle=True)
    val_loader = DataLoader(Pairs(64), batch_size=32)
    model = Classifier()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    epochs = 3
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=1e-2, total_steps=epochs * len(train_loader)
    )
    for epoch in range(epochs):
        model.train()
        for batch in tqdm(train_loader, desc=f"epoch {epoch}"):
            optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(batch["features"]), batch["label"])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            scheduler.step()
        evaluate(model, val_loader)


if __name__ == "__main__":
    main()
