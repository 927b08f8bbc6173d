import torch
from torch import nn
import pytorch_lightning as pl

torch.manual_seed(1)
training_data = [
    ("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
    ("Everybody read that book".split(), ["NN", "V", "DET", "NN"]),
]
word_to_ix = {}
for sent, tags in training_data:
    for word in sent:
        if word not in word_to_ix:
            word_to_ix[word] = len(word_to_ix)
tag_to_ix = {"DET": 0, "NN": 1, "V": 2}


class Tagger(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(len(word_to_ix), 6)
        self.lstm = nn.LSTM(6, 6)
        self.out = nn.Linear(6, 3)

    def forward(self, sentence):
        embeds = self.embedding(sentence)
        lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
        return torch.log_softmax(self.out(lstm_out.view(len(sentence), -1)), dim=1)

    def training_step(self, batch, batch_idx):
        sentence, tags = batch
        sentence_in = prepare(sentence, word_to_ix)
        targets = prepare(tags, tag_to_ix)
        self.loss = loss_function(self(sentence_in), targets)
        self.log("train_loss", self.loss, batch_size=1, prog_bar=True, on_epoch=True, sync_dist=True)
        return self.loss

    def on_train_epoch_end(self):
        if self.current_epoch % 5 == 0:
            self.print(self.current_epoch, round(self.loss.item(), 5))

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=0.1)
        return optimizer


def prepare(seq, to_ix):
    return torch.tensor([to_ix[w] for w in seq], dtype=torch.long)


class DataModule(pl.LightningDataModule):
    """The data the training reads: Lightning calls `setup` in each process, then asks the
    `*_dataloader` hooks for the loaders of `fit`, `validate`, `test` and `predict`."""

    def __init__(self, training_data=None):
        super().__init__()
        self.save_hyperparameters(ignore=["training_data"])
        self.training_data = training_data

    def setup(self, stage):
        self.train_dataset = list(self.training_data)

    def train_dataloader(self):
        return torch.utils.data.DataLoader(
            self.train_dataset, batch_size=None, collate_fn=lambda item: item, generator=torch.Generator()
        )

    def predict_dataloader(self):
        """What `trainer.predict` goes over: the batches `predict_step` unpacks."""
        return self.train_dataloader()


model = Tagger()
loss_function = nn.NLLLoss()
datamodule = DataModule(training_data=training_data)
trainer = pl.Trainer(max_epochs=20, accelerator="cpu")
trainer.fit(model, datamodule=datamodule)
