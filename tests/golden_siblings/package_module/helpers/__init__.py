from .engine import train_one_epoch
