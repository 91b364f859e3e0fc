"""Data problems a user can fix: each message names the file, the dataset entry and, where known, the row."""

from dataclasses import dataclass

TOO_DEEP = "the row is nested too deeply to read (thousands of levels of lists or objects)"


class DataError(Exception):
    """A problem with dataset_info.json, a data file or its rows, explained in one user-facing message.

    ``dataset`` is the dataset name from dataset_info.json and ``file`` the file or folder concerned, when known.
    """

    def __init__(self, message: str, *, dataset: str | None = None, file: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.dataset = dataset
        self.file = file

    def __reduce__(self) -> tuple:  # keep the keyword fields when pickled across worker processes
        return (_rebuild, (type(self), self.message, self.dataset, self.file))


def _rebuild(cls: type[DataError], message: str, dataset: str | None, file: str | None) -> DataError:
    error = cls.__new__(cls)
    DataError.__init__(error, message, dataset=dataset, file=file)
    return error


class RowError(ValueError):
    """Raised by a converter for one row that cannot become an Example; the message is the reason."""


@dataclass(frozen=True, slots=True)
class BadRow:
    """One row that could not be used: dataset name, file, 1-based row number in the file and the reason."""

    dataset: str
    file: str
    row: int
    reason: str

    def __str__(self) -> str:
        return f"dataset {self.dataset} ({self.file}), row {self.row}: {self.reason}"


class BadRowsError(DataError):
    """Rows that cannot be converted while ``on_bad_row`` is ``"fail"``; lists the first few."""

    def __init__(self, rows: list[BadRow], count: int) -> None:
        self.rows = rows
        self.count = count
        first = rows[0]
        lines = [f"{count} row(s) of dataset {first.dataset} ({first.file}) cannot be used:"]
        lines += [f"  row {r.row}: {r.reason}" for r in rows]
        if count > len(rows):
            lines.append(f"  ... and {count - len(rows)} more")
        lines.append("Fix the rows, or set `on_bad_row: skip` to leave such rows out and count them.")
        super().__init__("\n".join(lines), dataset=first.dataset, file=first.file)

    def __reduce__(self) -> tuple:
        return (BadRowsError, (self.rows, self.count))
