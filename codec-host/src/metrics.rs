//! Re-ID metrics: ACC_reid = (AP@1 + mAP@100) / 2, CMC.
