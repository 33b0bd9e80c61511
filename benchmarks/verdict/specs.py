"""Every run of the benchmark: framework, data, model, training and what ships.

The truth is not written here: ``make_runs`` measures it on each run's held-out set.
A run's name says what it was built to show; its label says what it turned out to be.
"""

from __future__ import annotations


def noisy(seed: int, **more) -> dict:
    """400 training samples of a 4-class task with 25% of their labels wrong."""
    return {"set": "classification", "train": 400, "val": 200, "noise": 0.25, "seed": seed, **more}


def clean(seed: int, train: int = 3000, val: int = 600, **more) -> dict:
    return {"set": "classification", "train": train, "val": val, "seed": seed, **more}


def tenclass(seed: int, **more) -> dict:
    """600 clean samples of a 10-class task: long training makes the model overconfident."""
    return {
        "set": "classification",
        "train": 600,
        "val": 300,
        "features": 40,
        "informative": 20,
        "classes": 10,
        "sep": 2.0,
        "seed": seed,
        **more,
    }


def digits(seed: int, train: int = 800, val: int = 300, **more) -> dict:
    return {"set": "digits", "train": train, "val": val, "seed": seed, **more}


KERAS = {
    "keras_healthy_dropout_l2_es": {
        "writer": "keras CSVLogger (training.log)",
        "description": "Dropout 0.3, L2 1e-3, EarlyStopping(patience=10, "
        "restore_best_weights=True), Adam on 3,000 samples: flat healthy curves",
        "data": clean(1),
        "hidden": [64, 64],
        "dropout": 0.3,
        "l2": 1e-3,
        "epochs": 40,
        "early_stopping": {"patience": 10, "restore": True},
        "csv": "training.log",
    },
    "keras_overfit_noisy_labels": {
        "writer": "keras CSVLogger (history.csv)",
        "description": "128x128 MLP, no regularization, 25% noisy labels, 80 epochs; "
        "the last epoch ships",
        "data": noisy(2),
        "hidden": [128, 128],
        "epochs": 80,
        "csv": "history.csv",
    },
    "keras_overfit_digits_tensorboard": {
        "writer": "keras TensorBoard callback (logs/train, logs/validation)",
        "description": "128x128 MLP on 300 digits with 15% wrong labels, no regularization, "
        "120 epochs; TensorBoard event files are the log",
        "data": digits(3, train=300, val=200, noise=0.15),
        "hidden": [128, 128],
        "epochs": 120,
        "tensorboard": True,
        "log_arg": "tensorboard",
    },
    "keras_es_restore_p5": {
        "writer": "keras CSVLogger (training.log)",
        "description": "noisy labels, no regularization, EarlyStopping(patience=5, "
        "restore_best_weights=True): the best epoch's weights ship",
        "data": noisy(4),
        "hidden": [128, 128],
        "epochs": 80,
        "early_stopping": {"patience": 5, "restore": True},
        "csv": "training.log",
    },
    "keras_es_restore_p15_tensorboard": {
        "writer": "keras TensorBoard callback + CSVLogger",
        "description": "noisy labels, EarlyStopping(patience=15, restore_best_weights=True); "
        "the TensorBoard folder is the log",
        "data": noisy(5),
        "hidden": [128, 128],
        "epochs": 80,
        "early_stopping": {"patience": 15, "restore": True},
        "csv": "training.log",
        "tensorboard": True,
        "log_arg": "tensorboard",
    },
    "keras_es_restore_p10_digits": {
        "writer": "keras CSVLogger (training.log)",
        "description": "digits with 20% wrong labels, 128x128 MLP, EarlyStopping(patience=10, "
        "restore_best_weights=True)",
        "data": digits(6, train=400, val=200, noise=0.2),
        "hidden": [128, 128],
        "epochs": 80,
        "early_stopping": {"patience": 10, "restore": True},
        "csv": "training.log",
    },
    "keras_es_norestore_p10": {
        "writer": "keras CSVLogger (training.log)",
        "description": "noisy labels, EarlyStopping(patience=10) without restore_best_weights: "
        "the weights of 10 epochs past the best ship",
        "data": noisy(7),
        "hidden": [128, 128],
        "epochs": 80,
        "lr": 2e-3,
        "early_stopping": {"patience": 10, "restore": False},
        "csv": "training.log",
    },
    "keras_es_norestore_p15": {
        "writer": "keras CSVLogger (history.csv)",
        "description": "noisy labels, EarlyStopping(patience=15) without restore_best_weights",
        "data": noisy(8),
        "hidden": [256, 128],
        "epochs": 80,
        "early_stopping": {"patience": 15, "restore": False},
        "csv": "history.csv",
    },
    "keras_es_norestore_p5_dropout": {
        "writer": "keras CSVLogger (training.log)",
        "description": "Dropout 0.3 on clean data, EarlyStopping(patience=5) without restoring: "
        "5 epochs past a shallow minimum",
        "data": clean(9, train=1500, val=300),
        "hidden": [64, 64],
        "dropout": 0.3,
        "epochs": 80,
        "early_stopping": {"patience": 5, "restore": False},
        "csv": "training.log",
    },
    "keras_best_only_keras_files": {
        "writer": "keras ModelCheckpoint('weights.{epoch:02d}-{val_loss:.2f}.keras', "
        "save_best_only=True) + CSVLogger",
        "description": "overfits after its best epoch; the newest save_best_only file ships",
        "data": noisy(10),
        "hidden": [32, 32],
        "lr": 3e-3,
        "epochs": 60,
        "csv": "training.log",
        "checkpoint": "weights.{epoch:02d}-{val_loss:.2f}.keras",
        "save": False,
        "ship": "checkpoint",
    },
    "keras_best_only_weights_h5": {
        "writer": "keras ModelCheckpoint('model-{epoch:02d}.weights.h5', save_best_only=True, "
        "save_weights_only=True) + TensorBoard",
        "description": "overfits after its best epoch; the newest weights-only file ships",
        "data": noisy(11),
        "hidden": [32, 32],
        "lr": 3e-3,
        "epochs": 60,
        "tensorboard": True,
        "log_arg": "tensorboard",
        "checkpoint": "model-{epoch:02d}.weights.h5",
        "save": False,
        "ship": "checkpoint",
    },
    "keras_best_only_but_final_ships": {
        "writer": "keras ModelCheckpoint('model-{epoch:02d}.keras', save_best_only=True) + "
        "CSVLogger; model.save('model.keras')",
        "description": "best checkpoints were written, but the final model.keras (last epoch) "
        "ships",
        "data": noisy(12),
        "hidden": [32, 32],
        "lr": 3e-3,
        "epochs": 60,
        "csv": "training.log",
        "checkpoint": "model-{epoch:02d}.keras",
    },
    "keras_batchnorm_digits": {
        "writer": "keras CSVLogger (training.log)",
        "description": "BatchNormalization MLP on 1,000 digits, 30 epochs",
        "data": digits(13, train=1000, val=250),
        "hidden": [64, 64],
        "batchnorm": True,
        "epochs": 30,
        "csv": "training.log",
    },
    "keras_conv_augment_digits": {
        "writer": "keras CSVLogger (training.log)",
        "description": "conv net with BatchNormalization and RandomTranslation/GaussianNoise "
        "augmentation layers on 800 digits",
        "data": digits(14),
        "conv": [16, 32],
        "hidden": [64],
        "batchnorm": True,
        "augment": True,
        "lr": 5e-4,
        "epochs": 50,
        "csv": "training.log",
    },
    "keras_adamw_healthy": {
        "writer": "keras CSVLogger (history.csv)",
        "description": "AdamW(weight_decay=0.004), no dropout, 3,000 samples",
        "data": clean(15),
        "hidden": [128, 64],
        "optimizer": "adamw",
        "weight_decay": 0.004,
        "epochs": 20,
        "csv": "history.csv",
    },
    "keras_noise_augment_healthy": {
        "writer": "keras CSVLogger (training.log)",
        "description": "GaussianNoise(0.3) input augmentation, 2,000 samples",
        "data": clean(16, train=2000, val=400),
        "hidden": [128, 128],
        "augment": 0.3,
        "epochs": 30,
        "csv": "training.log",
    },
    "keras_loss_up_acc_up": {
        "writer": "keras CSVLogger (training.log)",
        "description": "clean 10-class task, 600 samples, 128x128 MLP without regularization, "
        "60 epochs: the validation loss rises while the accuracy still improves (overconfidence)",
        "data": tenclass(17),
        "hidden": [128, 128],
        "epochs": 60,
        "csv": "training.log",
    },
    "keras_spiky_small_val_healthy": {
        "writer": "keras CSVLogger (training.log)",
        "description": "healthy model (Dropout 0.3) judged on a 40-sample validation set: "
        "spiky curve",
        "data": clean(18, train=2000, val=40),
        "hidden": [64, 64],
        "dropout": 0.3,
        "epochs": 40,
        "csv": "training.log",
    },
    "keras_spiky_small_val_overfit": {
        "writer": "keras CSVLogger (training.log)",
        "description": "noisy labels, no regularization, 40-sample validation set",
        "data": noisy(19, val=40),
        "hidden": [128, 128],
        "epochs": 70,
        "csv": "training.log",
    },
    "keras_model_only_plain_enough_data": {
        "writer": "keras model.save only",
        "description": "plain 128x128 MLP without regularization on 8,000 samples: no log, "
        "only the model",
        "data": clean(20, train=8000, val=1000),
        "hidden": [128, 128],
        "epochs": 15,
        "csv": "training.log",
        "model_only": True,
    },
    "keras_model_only_overfit": {
        "writer": "keras model.save only",
        "description": "256x256 MLP, no regularization, 25% noisy labels, 80 epochs: "
        "only the model",
        "data": noisy(21),
        "hidden": [256, 256],
        "epochs": 80,
        "csv": "training.log",
        "model_only": True,
    },
}

TORCH = {
    "torch_healthy_mlp_adamw": {
        "writer": "torch loop, CSV log; torch.save(model.state_dict())",
        "description": "MLP with Dropout 0.3 and AdamW(weight_decay=0.01), ~26k parameters for "
        "1,200 samples: validation loss still at its best at the end",
        "data": clean(
            3, train=1200, val=300, features=64, informative=24, redundant=8, classes=10, sep=1.5
        ),
        "hidden": [128, 128],
        "dropout": 0.3,
        "optimizer": "adamw",
        "weight_decay": 0.01,
        "lr": 5e-4,
        "epochs": 30,
        "log": {"kind": "csv", "file": "metrics.csv"},
        "save": ["model.pt"],
        "ship": "model.pt",
    },
    "torch_overfit_json_lists_last_pt": {
        "writer": "torch loop, JSON dict of lists; last.pt",
        "description": "no regularization, 25% noisy labels, 80 epochs; last.pt ships",
        "data": noisy(31),
        "hidden": [128, 128],
        "epochs": 80,
        "log": {"kind": "json-lists", "file": "history.json"},
        "save": ["best.pt", "last.pt"],
        "ship": "last.pt",
    },
    "torch_best_pt_diverges_csv": {
        "writer": "torch loop, CSV log; best.pt {'epoch', 'model_state_dict', "
        "'optimizer_state_dict'}",
        "description": "the log goes on and diverges; best.pt, saved at the best epoch, ships",
        "data": noisy(32),
        "hidden": [128, 128],
        "epochs": 80,
        "log": {"kind": "csv", "file": "log.csv"},
        "save": ["best.pt", "last.pt"],
        "ship": "best.pt",
    },
    "torch_best_pt_nested_json": {
        "writer": "torch loop, nested JSON {'train': {...}, 'val': {...}}; best.pt",
        "description": "the log diverges; best.pt ships",
        "data": noisy(33),
        "hidden": [128, 128],
        "epochs": 60,
        "log": {"kind": "json-lists", "file": "history.json", "nested": True},
        "save": ["best.pt"],
        "ship": "best.pt",
    },
    "torch_overfit_json_records": {
        "writer": "torch loop, JSON list of per-epoch dicts; last.pt",
        "description": "no regularization, noisy labels, 70 epochs; last.pt ships",
        "data": noisy(34),
        "hidden": [256, 128],
        "epochs": 70,
        "log": {"kind": "json-records", "file": "history.json"},
        "save": ["last.pt"],
        "ship": "last.pt",
    },
    "torch_overfit_jsonl_onnx": {
        "writer": "torch loop, JSON lines; torch.onnx.export",
        "description": "no regularization, noisy labels, 70 epochs; the ONNX export of the "
        "last epoch ships",
        "data": noisy(35),
        "hidden": [128, 128],
        "epochs": 70,
        "log": {"kind": "json-lines", "file": "metrics.jsonl"},
        "save": ["model.onnx"],
        "ship": "model.onnx",
    },
    "torch_onnx_dropout_healthy": {
        "writer": "torch loop, CSV log; torch.onnx.export",
        "description": "Dropout 0.3 + AdamW(weight_decay=0.05) on 3,000 samples; the ONNX "
        "export (inference: Dropout removed) ships",
        "data": clean(36),
        "hidden": [128, 128],
        "dropout": 0.3,
        "optimizer": "adamw",
        "weight_decay": 0.05,
        "epochs": 30,
        "log": {"kind": "csv", "file": "log.csv"},
        "save": ["model.onnx"],
        "ship": "model.onnx",
    },
    "torch_test_loss_columns_overfit": {
        "writer": "torch loop, CSV with train_loss/test_loss/test_acc, epochs from 1",
        "description": "tutorial-style log naming the validation split 'test'; no "
        "regularization, noisy labels; model.pt ships",
        "data": noisy(37),
        "hidden": [128, 128],
        "epochs": 60,
        "first_epoch": 1,
        "names": {"val_loss": "test_loss", "val_acc": "test_acc"},
        "log": {"kind": "csv", "file": "results.csv"},
        "save": ["model.pt"],
        "ship": "model.pt",
    },
    "torch_test_loss_columns_healthy": {
        "writer": "torch loop, CSV with train_loss/test_loss/test_acc, epochs from 1",
        "description": "tutorial-style log naming the validation split 'test'; Dropout 0.3, "
        "3,000 samples; model.pt ships",
        "data": clean(38),
        "hidden": [64, 64],
        "dropout": 0.3,
        "epochs": 30,
        "first_epoch": 1,
        "names": {"val_loss": "test_loss", "val_acc": "test_acc"},
        "log": {"kind": "csv", "file": "results.csv"},
        "save": ["model.pt"],
        "ship": "model.pt",
    },
    "torch_augment_flip_noise_digits": {
        "writer": "torch loop, CSV log; last.pt",
        "description": "BatchNorm MLP on 800 digits with random flips and Gaussian noise "
        "(augmentation in the loop)",
        "data": digits(39),
        "hidden": [128, 64],
        "batchnorm": True,
        "augment": "flip+noise",
        "noise_std": 0.3,
        "lr": 5e-4,
        "epochs": 30,
        "log": {"kind": "csv", "file": "log.csv"},
        "save": ["last.pt"],
        "ship": "last.pt",
        "flags": ["--augmentation", "yes"],
    },
    "torch_augment_noise_digits": {
        "writer": "torch loop, JSON list of per-epoch dicts; model.pt",
        "description": "BatchNorm MLP on 800 digits with Gaussian input noise (std 0.3)",
        "data": digits(47),
        "hidden": [128, 64],
        "batchnorm": True,
        "augment": "noise",
        "noise_std": 0.3,
        "epochs": 30,
        "log": {"kind": "json-records", "file": "history.json"},
        "save": ["model.pt"],
        "ship": "model.pt",
        "flags": ["--augmentation", "yes"],
    },
    "torch_loss_up_acc_up": {
        "writer": "torch loop, JSON dict of lists; model.pt",
        "description": "clean 10-class task, 600 samples, 256x256 MLP without regularization, "
        "60 epochs: validation loss rises while accuracy still improves",
        "data": tenclass(40),
        "hidden": [256, 256],
        "epochs": 60,
        "log": {"kind": "json-lists", "file": "history.json"},
        "save": ["model.pt"],
        "ship": "model.pt",
    },
    "torch_spiky_small_val_healthy": {
        "writer": "torch loop, CSV log; model.pt",
        "description": "Dropout 0.2 + AdamW on 2,000 samples, 40-sample validation set",
        "data": clean(41, train=2000, val=40),
        "hidden": [64, 64],
        "dropout": 0.2,
        "optimizer": "adamw",
        "weight_decay": 0.01,
        "epochs": 40,
        "log": {"kind": "csv", "file": "log.csv"},
        "save": ["model.pt"],
        "ship": "model.pt",
    },
    "torch_spiky_small_val_overfit": {
        "writer": "torch loop, CSV log; model.pt",
        "description": "noisy labels, no regularization, 40-sample validation set",
        "data": noisy(42, val=40),
        "hidden": [128, 128],
        "epochs": 60,
        "log": {"kind": "csv", "file": "log.csv"},
        "save": ["model.pt"],
        "ship": "model.pt",
    },
    "torch_early_stop_best_pt": {
        "writer": "torch loop, hand-written early stopping (patience 10), CSV log; best.pt",
        "description": "noisy labels; the loop stops 10 epochs past the best and best.pt ships",
        "data": noisy(43),
        "hidden": [128, 128],
        "epochs": 100,
        "patience": 10,
        "log": {"kind": "csv", "file": "log.csv"},
        "save": ["best.pt", "last.pt"],
        "ship": "best.pt",
    },
    "torch_early_stop_last_pt": {
        "writer": "torch loop, hand-written early stopping (patience 12), JSON lines; last.pt",
        "description": "noisy labels; the loop stops 12 epochs past the best and last.pt ships",
        "data": noisy(44),
        "hidden": [128, 128],
        "epochs": 100,
        "patience": 12,
        "lr": 2e-3,
        "log": {"kind": "json-lines", "file": "log.jsonl"},
        "save": ["best.pt", "last.pt"],
        "ship": "last.pt",
    },
    "torch_regression_diabetes": {
        "writer": "torch loop, CSV log; model.pt",
        "description": "MSE regression on the diabetes set (250 samples), 256x256 MLP without "
        "regularization, 150 epochs",
        "data": {"set": "diabetes", "train": 250, "val": 60, "seed": 45},
        "hidden": [256, 256],
        "epochs": 150,
        "log": {"kind": "csv", "file": "log.csv"},
        "save": ["model.pt"],
        "ship": "model.pt",
    },
    "torch_plain_enough_data": {
        "writer": "torch loop, CSV log; model.pt",
        "description": "plain 64x64 MLP without regularization on 6,000 samples",
        "data": clean(46, train=6000, val=1000),
        "hidden": [64, 64],
        "lr": 5e-4,
        "epochs": 20,
        "log": {"kind": "csv", "file": "log.csv"},
        "save": ["model.pt"],
        "ship": "model.pt",
    },
}

LIGHTNING = {
    "lightning_last_ckpt_holds_best": {
        "description": "no regularization, noisy labels, 60 epochs; ModelCheckpoint(monitor="
        "'val_loss', save_last=True): last.ckpt is only rewritten with a new best, so it ships "
        "the best epoch",
        "data": noisy(51),
        "hidden": [128, 128],
        "epochs": 60,
        "save_last": True,
        "ship": "last",
    },
    "lightning_overfit_final_ckpt": {
        "description": "no regularization, noisy labels, 60 epochs; trainer.save_checkpoint("
        "'final.ckpt') after fit ships",
        "data": noisy(52),
        "hidden": [128, 128],
        "epochs": 60,
        "ship": "final",
    },
    "lightning_best_ckpt_diverges": {
        "description": "no regularization, noisy labels, 60 epochs; the best "
        "epoch=N-step=M.ckpt ships",
        "data": noisy(53),
        "hidden": [128, 128],
        "epochs": 60,
        "ship": "checkpoint",
    },
    "lightning_es_dropout_healthy": {
        "description": "Dropout 0.3 + AdamW(weight_decay=0.01), EarlyStopping(patience=5); "
        "the best checkpoint ships",
        "data": clean(54, train=2000, val=400),
        "hidden": [64, 64],
        "dropout": 0.3,
        "optimizer": "adamw",
        "weight_decay": 0.01,
        "epochs": 40,
        "early_stopping": 5,
        "ship": "checkpoint",
    },
    "lightning_es_default_checkpoint": {
        "description": "noisy labels, EarlyStopping(patience=10) with Lightning's default "
        "ModelCheckpoint: its epoch=N-step=M.ckpt holds the weights 10 epochs past the best",
        "data": noisy(55),
        "hidden": [128, 128],
        "epochs": 80,
        "lr": 2e-3,
        "early_stopping": 10,
        "ship": "checkpoint",
        "checkpoint": None,
    },
    "lightning_finetune_overfit_5": {
        "description": "short fine-tune: 5 epochs on 120 noisy samples at lr 3e-3 from "
        "pretrained weights; eval loss rises while train loss falls; the default ModelCheckpoint's "
        "file (last epoch) ships",
        "data": noisy(56, train=120, extra=4000),
        "pretrain": {"epochs": 5},
        "hidden": [128, 128],
        "lr": 3e-3,
        "batch": 16,
        "epochs": 5,
        "ship": "checkpoint",
        "checkpoint": None,
    },
    "lightning_finetune_overfit_4_logs": {
        "description": "short fine-tune: 4 epochs on 100 noisy samples at lr 5e-3; only the log",
        "data": noisy(57, train=100, extra=4000),
        "pretrain": {"epochs": 5},
        "hidden": [128, 128],
        "lr": 5e-3,
        "batch": 16,
        "epochs": 4,
        "ship": None,
        "checkpoint": None,
    },
    "lightning_finetune_overfit_7": {
        "description": "short fine-tune: 7 epochs on 150 noisy samples at lr 2e-3; final.ckpt "
        "ships",
        "data": noisy(58, train=150, extra=4000),
        "pretrain": {"epochs": 5},
        "hidden": [128, 128],
        "lr": 2e-3,
        "batch": 16,
        "epochs": 7,
        "ship": "final",
        "checkpoint": None,
    },
    "lightning_finetune_healthy_5": {
        "description": "short fine-tune: 5 epochs on 1,500 clean samples at lr 3e-4",
        "data": clean(59, train=1500, val=300, extra=4000),
        "pretrain": {"epochs": 1},
        "hidden": [128, 128],
        "lr": 3e-4,
        "epochs": 5,
        "ship": "checkpoint",
        "checkpoint": None,
    },
    "lightning_finetune_healthy_3": {
        "description": "short fine-tune: 3 epochs on 1,000 clean samples at lr 3e-4; the best "
        "checkpoint ships",
        "data": clean(60, train=1000, val=300, extra=4000),
        "pretrain": {"epochs": 1},
        "hidden": [128, 128],
        "lr": 3e-4,
        "epochs": 3,
        "ship": "checkpoint",
    },
    "lightning_step_logging_healthy": {
        "description": "train loss logged per step and per epoch (train_loss_step, "
        "train_loss_epoch), Dropout 0.3, 2,000 samples",
        "data": clean(61, train=2000, val=400),
        "hidden": [64, 64],
        "dropout": 0.3,
        "epochs": 25,
        "log_steps": True,
        "ship": "checkpoint",
        "checkpoint": None,
    },
    "lightning_loss_up_acc_up": {
        "description": "clean 10-class task, 600 samples, 256x256 MLP without regularization, "
        "50 epochs: val_loss rises while val_acc still improves; the default ModelCheckpoint's "
        "file (last epoch) ships",
        "data": tenclass(63),
        "hidden": [256, 256],
        "epochs": 50,
        "ship": "checkpoint",
        "checkpoint": None,
    },
    "lightning_spiky_small_val_healthy": {
        "description": "Dropout 0.3 + weight decay on 2,000 samples, 40-sample validation set",
        "data": clean(62, train=2000, val=40),
        "hidden": [64, 64],
        "dropout": 0.3,
        "optimizer": "adamw",
        "weight_decay": 0.01,
        "epochs": 30,
        "ship": "final",
    },
}

HF = {
    "hf_finetune_overfit_epochs": {
        "description": "fine-tune on 150 noisy sequences, 6 epochs at lr 3e-3, eval each epoch; "
        "the final model.safetensors ships",
        "data": {"train": 150, "val": 200, "noise": 0.3},
        "args": {"num_train_epochs": 6, "learning_rate": 3e-3, "lr_scheduler_type": "constant"},
    },
    "hf_finetune_overfit_last_checkpoint": {
        "description": "fine-tune on 120 noisy sequences, 5 epochs; the last checkpoint-N "
        "(its model.safetensors and trainer_state.json) ships",
        "data": {"train": 120, "val": 200, "noise": 0.3},
        "args": {
            "num_train_epochs": 5,
            "learning_rate": 4e-3,
            "lr_scheduler_type": "constant",
            "save_only_model": False,
        },
        "save_model": False,
        "save_state": False,
        "ship": "LAST/model.safetensors",
        "log": "LAST/trainer_state.json",
        "folder_args": ["LAST"],
    },
    "hf_finetune_overfit_7": {
        "description": "fine-tune on 200 noisy sequences, 7 epochs at lr 2e-3",
        "data": {"train": 200, "val": 200, "noise": 0.3},
        "args": {"num_train_epochs": 7, "learning_rate": 2e-3, "lr_scheduler_type": "constant"},
        "seed": 3,
    },
    "hf_finetune_overfit_clean_4": {
        "description": "fine-tune of a well-trained model on 2,000 clean sequences, 4 epochs at "
        "lr 3e-4: the eval loss rises from the first evaluation on",
        "data": {"train": 2000, "val": 300},
        "args": {"num_train_epochs": 4, "learning_rate": 3e-4},
    },
    "hf_finetune_healthy_4": {
        "description": "fine-tune of a briefly pretrained model on 3,000 clean sequences, "
        "4 epochs at lr 5e-4",
        "data": {"train": 3000, "val": 300},
        "pretrain": {"size": 1500, "epochs": 1},
        "args": {"num_train_epochs": 4, "learning_rate": 5e-4},
        "seed": 10,
    },
    "hf_finetune_healthy_5_steps": {
        "description": "fine-tune of a briefly pretrained model on 2,500 clean sequences, "
        "eval every 80 steps (5 evaluations), weight_decay=0.01",
        "data": {"train": 2500, "val": 300},
        "pretrain": {"size": 1500, "epochs": 1},
        "args": {
            "num_train_epochs": 2.5,
            "learning_rate": 5e-4,
            "weight_decay": 0.01,
            "eval_strategy": "steps",
            "eval_steps": 80,
            "save_strategy": "steps",
            "save_steps": 80,
            "logging_strategy": "steps",
            "logging_steps": 40,
        },
        "seed": 11,
    },
    "hf_finetune_healthy_3_wd": {
        "description": "fine-tune with dropout 0.1 and weight_decay=0.01 on 1,500 sequences, "
        "3 epochs",
        "data": {"train": 1500, "val": 300},
        "dropout": 0.1,
        "pretrain": {"size": 1500, "epochs": 1},
        "args": {"num_train_epochs": 3, "learning_rate": 3e-4, "weight_decay": 0.01},
        "seed": 4,
    },
    "hf_load_best_at_end": {
        "description": "fine-tune on 150 noisy sequences, 8 epochs, load_best_model_at_end=True "
        "(metric eval_loss): the best checkpoint's weights are saved",
        "data": {"train": 150, "val": 200, "noise": 0.3},
        "args": {
            "num_train_epochs": 8,
            "learning_rate": 3e-3,
            "lr_scheduler_type": "constant",
            "load_best_model_at_end": True,
            "metric_for_best_model": "eval_loss",
        },
        "seed": 5,
    },
    "hf_steps_eval_overfit": {
        "description": "eval_strategy='steps' every 20 steps over 10 epochs on 160 noisy sequences",
        "data": {"train": 160, "val": 200, "noise": 0.3},
        "args": {
            "num_train_epochs": 10,
            "learning_rate": 2e-3,
            "lr_scheduler_type": "constant",
            "eval_strategy": "steps",
            "eval_steps": 20,
            "save_strategy": "steps",
            "save_steps": 20,
            "logging_strategy": "steps",
            "logging_steps": 10,
        },
        "seed": 6,
    },
    "hf_steps_load_best": {
        "description": "eval_strategy='steps' every 20 steps, load_best_model_at_end=True",
        "data": {"train": 160, "val": 200, "noise": 0.3},
        "args": {
            "num_train_epochs": 10,
            "learning_rate": 2e-3,
            "lr_scheduler_type": "constant",
            "eval_strategy": "steps",
            "eval_steps": 20,
            "save_strategy": "steps",
            "save_steps": 20,
            "logging_strategy": "steps",
            "logging_steps": 10,
            "load_best_model_at_end": True,
            "metric_for_best_model": "eval_loss",
        },
        "seed": 7,
    },
    "hf_final_evaluate_after_best": {
        "description": "load_best_model_at_end=True, then trainer.evaluate() on the restored "
        "weights: a last eval entry that is no training point",
        "data": {"train": 150, "val": 200, "noise": 0.3},
        "args": {
            "num_train_epochs": 7,
            "learning_rate": 3e-3,
            "lr_scheduler_type": "constant",
            "load_best_model_at_end": True,
            "metric_for_best_model": "eval_loss",
        },
        "final_evaluate": True,
        "seed": 8,
    },
    "hf_scratch_dropout_healthy": {
        "description": "from scratch (config only), dropout 0.2, weight_decay=0.05, 3,000 "
        "sequences, 6 epochs",
        "data": {"train": 3000, "val": 300},
        "dropout": 0.2,
        "pretrain": False,
        "args": {"num_train_epochs": 6, "learning_rate": 1e-3, "weight_decay": 0.05},
        "seed": 9,
    },
}

RUNS: dict[str, dict] = {}
for _framework, _specs in (
    ("keras", KERAS),
    ("torch", TORCH),
    ("lightning", LIGHTNING),
    ("transformers", HF),
):
    RUNS.update({name: {**spec, "framework": _framework} for name, spec in _specs.items()})
for _name, _spec in RUNS.items():
    _spec.setdefault("seed", int(_spec["data"].get("seed", 0)))
