"""core.io.csvfile: BOM, CRLF, cp949, malformed and empty files, atomic writes."""

from __future__ import annotations

import pandas as pd
import pytest

from core.io.csvfile import CsvError, read_csv, write_csv_atomic

KOREAN_META = "target,class_name\n0,고양이\n1,강아지\n2,새\n"


def test_utf8_bom_is_not_part_of_the_first_column_name(tmp_path):
    path = tmp_path / "train.csv"
    path.write_bytes(b"\xef\xbb\xbfID,target\na.png,0\nb.png,1\n")
    result = read_csv(path, required_columns=("ID", "target"))
    assert list(result.frame.columns) == ["ID", "target"]
    assert result.frame["ID"].tolist() == ["a.png", "b.png"]
    assert (result.encoding, result.had_bom) == ("utf-8", True)


def test_windows_line_ends_leave_no_carriage_returns(tmp_path):
    path = tmp_path / "train.csv"
    path.write_bytes(b"ID,target\r\na.png,0\r\nb.png,1\r\n")
    frame = read_csv(path).frame
    assert frame.to_dict("list") == {"ID": ["a.png", "b.png"], "target": ["0", "1"]}


def test_bom_and_crlf_together_with_spaces_around_cells(tmp_path):
    path = tmp_path / "train.csv"
    path.write_bytes(b"\xef\xbb\xbf ID , target \r\n a.png , 0 \r\nb.png,1\r\n")
    frame = read_csv(path, required_columns=("ID", "target")).frame
    assert frame.to_dict("list") == {"ID": ["a.png", "b.png"], "target": ["0", "1"]}


def test_cp949_korean_class_names_are_decoded_and_the_encoding_named(tmp_path):
    path = tmp_path / "meta.csv"
    path.write_bytes(KOREAN_META.encode("cp949"))
    result = read_csv(path, required_columns=("target", "class_name"))
    assert result.frame["class_name"].tolist() == ["고양이", "강아지", "새"]
    assert result.encoding == "cp949"
    assert result.had_bom is False


def test_cp949_with_crlf(tmp_path):
    path = tmp_path / "meta.csv"
    path.write_bytes(KOREAN_META.replace("\n", "\r\n").encode("cp949"))
    result = read_csv(path)
    assert result.frame["class_name"].tolist() == ["고양이", "강아지", "새"]
    assert result.encoding == "cp949"


def test_short_cp949_names_are_not_mistaken_for_chinese(tmp_path):
    # One-syllable names are too short for statistics alone; charset_normalizer's best guess is big5.
    path = tmp_path / "meta.csv"
    path.write_bytes("target,class_name\n0,새\n1,개\n2,말\n".encode("cp949"))
    result = read_csv(path)
    assert result.frame["class_name"].tolist() == ["새", "개", "말"]
    assert result.encoding == "cp949"


def test_utf8_korean_stays_utf8(tmp_path):
    path = tmp_path / "meta.csv"
    path.write_text(KOREAN_META, encoding="utf-8")
    result = read_csv(path)
    assert result.frame["class_name"].tolist() == ["고양이", "강아지", "새"]
    assert result.encoding == "utf-8"


def test_explicit_encoding_is_used_and_a_wrong_one_is_named(tmp_path):
    path = tmp_path / "meta.csv"
    path.write_bytes(KOREAN_META.encode("cp949"))
    assert read_csv(path, encoding="cp949").frame["class_name"].tolist() == ["고양이", "강아지", "새"]
    with pytest.raises(CsvError, match=r"meta\.csv: cannot be decoded as 'utf-8'"):
        read_csv(path, encoding="utf-8")
    with pytest.raises(CsvError, match=r"meta\.csv: cannot be decoded as 'no-such-codec'"):
        read_csv(path, encoding="no-such-codec")


def test_missing_file(tmp_path):
    with pytest.raises(CsvError, match=r"train\.csv: file not found"):
        read_csv(tmp_path / "train.csv")


@pytest.mark.parametrize("content", [b"", b"  \n\r\n", b"\xef\xbb\xbf"])
def test_empty_file_is_an_error_naming_it(tmp_path, content):
    path = tmp_path / "train.csv"
    path.write_bytes(content)
    with pytest.raises(CsvError, match=r"train\.csv: the file is empty"):
        read_csv(path)


def test_header_only_gives_zero_rows_with_the_columns(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("ID,target\n")
    frame = read_csv(path, required_columns=("ID", "target")).frame
    assert len(frame) == 0 and list(frame.columns) == ["ID", "target"]


def test_missing_column_lists_the_columns_found(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("ID,label\na.png,0\n")
    with pytest.raises(CsvError, match=r"train\.csv: missing column\(s\) target; found ID, label"):
        read_csv(path, required_columns=("ID", "target"))


def test_malformed_csv_is_named(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("ID,target\na.png,0\nb.png,1,extra,fields\n")
    with pytest.raises(CsvError, match=r"train\.csv: not a valid CSV"):
        read_csv(path)


def test_short_rows_give_empty_strings_never_nan(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("target,ID\n0,a.png\n1\n")
    frame = read_csv(path).frame
    assert frame.to_dict("list") == {"target": ["0", "1"], "ID": ["a.png", ""]}


def test_values_stay_strings(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("ID,target\n007.png,01\nNA,NaN\n")
    frame = read_csv(path).frame
    assert frame.to_dict("list") == {"ID": ["007.png", "NA"], "target": ["01", "NaN"]}


def test_unreadable_file_is_a_csv_error(tmp_path, monkeypatch):
    path = tmp_path / "train.csv"
    path.write_text("ID,target\n")

    def refuse(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(type(path), "read_bytes", refuse)
    with pytest.raises(CsvError, match=r"train\.csv: cannot be read"):
        read_csv(path)


def test_write_csv_atomic_round_trips_utf8_and_leaves_no_temp_files(tmp_path):
    frame = pd.DataFrame({"target": [0, 1, 2], "class_name": ["고양이", "강아지", "새"]})
    path = write_csv_atomic(frame, tmp_path / "out" / "meta.csv")
    assert path.read_bytes() == "target,class_name\n0,고양이\n1,강아지\n2,새\n".encode()
    assert [p.name for p in path.parent.iterdir()] == ["meta.csv"]


def test_write_csv_atomic_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "train_v1.csv"
    path.write_text("ID,target\nold.png,0\n")

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        write_csv_atomic(pd.DataFrame({"ID": ["new.png"], "target": [1]}), path)
    assert path.read_text() == "ID,target\nold.png,0\n"
    assert [p.name for p in tmp_path.iterdir()] == ["train_v1.csv"]
