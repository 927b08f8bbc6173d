"""lightning_train.py printing one line more than plain_train.py: trains identically, must still
fail verify (exit 1) on its printed output."""

from lightning_train import Net, main


class Chatty(Net):
    def on_train_start(self):
        print("training starts")


if __name__ == "__main__":
    main(net_class=Chatty)
