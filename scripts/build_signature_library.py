"""Build the packaged signature library: src/tmescope/data/signatures/signatures.json (+ SOURCE.md table).

Gene lists are facts taken from the publications (as transcribed in the reference files listed in
../shared/reference/signatures/PROVENANCE.md); each set gets its citation, DOI, source and licence here.
Outdated symbols are mapped to current HGNC approved symbols with `tmescope.genes.harmonize` (the offline
HGNC 2024 table shipped with tmescope); every remapped symbol is recorded.

Run:  .venv/bin/python scripts/build_signature_library.py
"""

from __future__ import annotations

import json
import re
import sys
import warnings
from pathlib import Path

import pandas as pd

from tmescope.genes import harmonize, snapshot

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT.parent / "shared" / "reference"
SIG = REF / "signatures"
OUT = ROOT / "src" / "tmescope" / "data" / "signatures"
LIBRARY_VERSION = "2026.11.1"

CIT: dict[str, tuple[str, str]] = {
    "bagaev2021": (
        "Bagaev A, Kotlov N, Nomie K, et al. Conserved pan-cancer microenvironment subtypes predict response "
        "to immunotherapy. Cancer Cell 2021;39(6):845-865.e7.",
        "10.1016/j.ccell.2021.04.014",
    ),
    "yoshihara2013": (
        "Yoshihara K, Shahmoradgoli M, Martinez E, et al. Inferring tumour purity and stromal and immune cell "
        "admixture from expression data. Nat Commun 2013;4:2612.",
        "10.1038/ncomms3612",
    ),
    "rooney2015": (
        "Rooney MS, Shukla SA, Wu CJ, Getz G, Hacohen N. Molecular and genetic properties of tumors associated "
        "with local immune cytolytic activity. Cell 2015;160(1-2):48-61.",
        "10.1016/j.cell.2014.12.033",
    ),
    "ayers2017": (
        "Ayers M, Lunceford J, Nebozhyn M, et al. IFN-gamma-related mRNA profile predicts clinical response to "
        "PD-1 blockade. J Clin Invest 2017;127(8):2930-2940.",
        "10.1172/JCI91190",
    ),
    "jiang2018": (
        "Jiang P, Gu S, Pan D, et al. Signatures of T cell dysfunction and exclusion predict cancer "
        "immunotherapy response. Nat Med 2018;24(10):1550-1558.",
        "10.1038/s41591-018-0136-1",
    ),
    "mariathasan2018": (
        "Mariathasan S, Turley SJ, Nickles D, et al. TGF-beta attenuates tumour response to PD-L1 blockade by "
        "contributing to exclusion of T cells. Nature 2018;554(7693):544-548.",
        "10.1038/nature25501",
    ),
    "cabrita2020": (
        "Cabrita R, Lauss M, Sanna A, et al. Tertiary lymphoid structures improve immunotherapy and survival "
        "in melanoma. Nature 2020;577(7791):561-565.",
        "10.1038/s41586-019-1914-8",
    ),
    "messina2012": (
        "Messina JL, Fenstermacher DA, Eschrich S, et al. 12-Chemokine gene signature identifies lymph "
        "node-like structures in melanoma: potential for patient selection for immunotherapy? "
        "Sci Rep 2012;2:765.",
        "10.1038/srep00765",
    ),
    "kieffer2020": (
        "Kieffer Y, Hocine HR, Gentric G, et al. Single-cell analysis reveals fibroblast clusters linked to "
        "immunotherapy resistance in cancer. Cancer Discov 2020;10(9):1330-1351.",
        "10.1158/2159-8290.CD-19-1384",
    ),
    "ohlund2017": (
        "Ohlund D, Handly-Santana A, Biffi G, et al. Distinct populations of inflammatory fibroblasts and "
        "myofibroblasts in pancreatic cancer. J Exp Med 2017;214(3):579-596.",
        "10.1084/jem.20162024",
    ),
    "elyada2019": (
        "Elyada E, Bolisetty M, Laise P, et al. Cross-species single-cell analysis of pancreatic ductal "
        "adenocarcinoma reveals antigen-presenting cancer-associated fibroblasts. Cancer Discov "
        "2019;9(8):1102-1123.",
        "10.1158/2159-8290.CD-19-0094",
    ),
    "naba2012": (
        "Naba A, Clauser KR, Hoersch S, et al. The matrisome: in silico definition and in vivo characterization "
        "by proteomics of normal and tumor extracellular matrices. Mol Cell Proteomics 2012;11(4):M111.014647.",
        "10.1074/mcp.M111.014647",
    ),
    "nazemi2024": (
        "Nazemi M, et al. The extracellular matrix supports breast cancer cell growth "
        "under amino acid starvation by promoting tyrosine catabolism. PLoS Biol 2024;22(1):e3002406.",
        "10.1371/journal.pbio.3002406",
    ),
    "harding2003": (
        "Harding HP, Zhang Y, Zeng H, et al. An integrated stress response regulates amino acid metabolism and "
        "resistance to oxidative stress. Mol Cell 2003;11(3):619-633.",
        "10.1016/S1097-2765(03)00105-9",
    ),
    "liberzon2015": (
        "Liberzon A, Birger C, Thorvaldsdottir H, et al. The Molecular Signatures Database (MSigDB) hallmark "
        "gene set collection. Cell Syst 2015;1(6):417-425.",
        "10.1016/j.cels.2015.12.004",
    ),
    "reactome": (
        "Gillespie M, Jassal B, Stephan R, et al. The reactome pathway knowledgebase 2022. Nucleic Acids Res "
        "2022;50(D1):D687-D692 (set as distributed in MSigDB C2).",
        "10.1093/nar/gkab1028",
    ),
    "go": (
        "Gene Ontology Consortium. The Gene Ontology resource: enriching a GOld mine. Nucleic Acids Res "
        "2021;49(D1):D325-D334 (set as distributed in MSigDB C5).",
        "10.1093/nar/gkaa1113",
    ),
    "rosario2018": (
        "Rosario SR, Long MD, Affronti HC, et al. Pan-cancer analysis of transcriptional metabolic "
        "dysregulation using The Cancer Genome Atlas. Nat Commun 2018;9(1):5330.",
        "10.1038/s41467-018-07232-8",
    ),
    "ye2019": (
        "Ye Y, Hu Q, Chen H, et al. Characterization of hypoxia-associated molecular features to aid "
        "hypoxia-targeted therapy. Nat Metab 2019;1(4):431-444.",
        "10.1038/s42255-019-0045-8",
    ),
    "neftel2019": (
        "Neftel C, Laffy J, Filbin MG, et al. An integrative model of cellular states, plasticity, and "
        "genetics for glioblastoma. Cell 2019;178(4):835-849.e21.",
        "10.1016/j.cell.2019.06.024",
    ),
    "becht2016": (
        "Becht E, Giraldo NA, Lacroix L, et al. Estimating the population abundance of tissue-infiltrating "
        "immune and stromal cell populations using gene expression. Genome Biol 2016;17(1):218.",
        "10.1186/s13059-016-1070-5",
    ),
    "danaher2017": (
        "Danaher P, Warren S, Dennis L, et al. Gene expression markers of tumor infiltrating leukocytes. "
        "J Immunother Cancer 2017;5:18.",
        "10.1186/s40425-017-0215-8",
    ),
    "bindea2013": (
        "Bindea G, Mlecnik B, Tosolini M, et al. Spatiotemporal dynamics of intratumoral immune cells reveal "
        "the immune landscape in human cancer. Immunity 2013;39(4):782-795.",
        "10.1016/j.immuni.2013.10.003",
    ),
    "muller2017": (
        "Muller S, Kohanbash G, Liu SJ, et al. Single-cell profiling of human gliomas reveals macrophage "
        "ontogeny as a basis for regional differences in macrophage activation in the tumor "
        "microenvironment. Genome Biol 2017;18(1):234.",
        "10.1186/s13059-017-1362-4",
    ),
}

FACTS = "gene list (a fact) re-entered from the publication, with citation"
UNVERIFIED = (
    " Curated from the publications' main text and common usage; not yet checked against their supplementary tables."
)

BAGAEV_CATEGORY = {
    "MHCI": "antigen_presentation",
    "MHCII": "antigen_presentation",
    "Coactivation_molecules": "immune_activation",
    "Effector_cells": "immune_effector",
    "T_cell_traffic": "immune_effector",
    "NK_cells": "immune_effector",
    "T_cells": "immune_effector",
    "B_cells": "immune_effector",
    "M1_signatures": "immune_effector",
    "Th1_signature": "immune_effector",
    "Antitumor_cytokines": "immune_effector",
    "Checkpoint_inhibition": "immune_suppression",
    "Treg": "immune_suppression",
    "T_reg_traffic": "immune_suppression",
    "Neutrophil_signature": "immune_suppression",
    "Granulocyte_traffic": "immune_suppression",
    "MDSC": "immune_suppression",
    "MDSC_traffic": "immune_suppression",
    "Macrophages": "immune_suppression",
    "Macrophage_DC_traffic": "immune_suppression",
    "Th2_signature": "immune_suppression",
    "Protumor_cytokines": "immune_suppression",
    "CAF": "stroma",
    "Matrix": "stroma",
    "Matrix_remodeling": "stroma",
    "Angiogenesis": "angiogenesis",
    "Endothelium": "angiogenesis",
    "Proliferation_rate": "tumour",
    "EMT_signature": "tumour",
}


def read_gmt(path: Path) -> dict[str, tuple[str, list[str]]]:
    sets: dict[str, tuple[str, list[str]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        parts = line.split("\t")
        sets[parts[0]] = (parts[1], [g.strip() for g in parts[2:] if g.strip()])
    return sets


#: Symbols that HGNC lists as ambiguous but whose meaning is clear from the set they come from.
OVERRIDES = {"NOV": ("CCN3", "NOV/CCN3 of the CCN family of matricellular proteins (HGNC previous symbol)")}


class SymbolMapper:
    """Map published symbols to current HGNC approved symbols with `tmescope.genes.harmonize`, recording changes."""

    def __init__(self) -> None:
        self.changes: list[dict[str, str]] = []
        self.unmapped: list[dict[str, str]] = []

    def map_set(
        self, genes: list[str], set_name: str, *, id_type: str = "symbol", fallback: list[str] | None = None
    ) -> list[str]:
        genes = list(genes)
        for i, g in enumerate(genes):
            if g in OVERRIDES:
                new, why = OVERRIDES[g]
                self.changes.append({"set": set_name, "published": g, "current": new, "rule": f"curated: {why}"})
                genes[i] = new
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = harmonize(genes, id_type=id_type, source=set_name)
        out = []
        fb = fallback or list(m.query)
        for q0, sym, outcome, detail, alt in zip(
            m.query, m.symbol, m.outcome, m.detail or ("",) * len(m), fb, strict=True
        ):
            q = alt if sym is None else q0
            if sym is None:
                self.unmapped.append(
                    {"set": set_name, "published": q, "why": outcome + (f" ({detail})" if detail else "")}
                )
                out.append(q)
                continue
            if sym != q and outcome not in ("approved", "trimmed", "entrez"):
                self.changes.append({"set": set_name, "published": q, "current": sym, "rule": outcome})
            out.append(sym)
        return out


def _gs(name, genes, collection, category, description, cite, source, licence):
    citation, doi = CIT[cite]
    return {
        "name": name,
        "genes": genes,
        "collection": collection,
        "category": category,
        "description": description,
        "citation": citation,
        "doi": doi,
        "source": source,
        "licence": licence,
    }


def snake(s: str) -> str:
    s = re.sub(r"[^0-9A-Za-z]+", "_", s).strip("_").lower()
    return re.sub(r"_+", "_", s)


def build() -> tuple[list[dict], SymbolMapper]:
    out: list[dict] = []
    mapper = SymbolMapper()

    # --- Bagaev 2021: 29 functional signatures, MFP order ---------------------------------------
    mfp = read_gmt(SIG / "bagaev2021_mfp" / "gene_signatures.gmt")
    order = (SIG / "bagaev2021_mfp" / "gene_signatures_order.tsv").read_text().split()
    assert sorted(order) == sorted(mfp), "MFP order file and GMT disagree"
    for name in order:
        desc, genes = mfp[name]
        out.append(
            _gs(
                name,
                genes,
                "bagaev2021",
                BAGAEV_CATEGORY[name],
                f"{desc} (one of the 29 functional gene expression signatures of the TME subtypes).",
                "bagaev2021",
                "gene lists of Bagaev et al. 2021, as listed in BostonGene/MFP signatures/gene_signatures.gmt @62aaf3e",
                FACTS,
            )
        )

    # --- ESTIMATE ---------------------------------------------------------------------------------
    est = read_gmt(SIG / "estimate_yoshihara2013.gmt")
    for key, nm, cat in (("ESTIMATE_STROMAL", "stromal", "stroma"), ("ESTIMATE_IMMUNE", "immune", "immune")):
        out.append(
            _gs(
                f"estimate_{nm}_yoshihara2013",
                est[key][1],
                "estimate",
                cat,
                f"ESTIMATE {nm} signature (141 genes); ESTIMATE score = stromal + immune ssGSEA.",
                "yoshihara2013",
                "Yoshihara et al. 2013 Supplementary Data 1, as stored in IOBR @27ed713 (data/SI_geneset.rda)",
                FACTS + "; ESTIMATE R package GPL-2 (code not used)",
            )
        )

    # --- immunotherapy ----------------------------------------------------------------------------
    io = read_gmt(SIG / "iobr_tme_signatures.gmt")
    cur = pd.read_csv(SIG / "curated_literature_markers.tsv", sep="\t", dtype=str, keep_default_na=False)
    curated = {k: list(g["gene_symbol"]) for k, g in cur.groupby("set_name", sort=False)}
    iobr_src = "IOBR/IOBR @27ed713 (data/signature_collection.rda), checked against the publication"
    imm = [
        (
            "cytolytic_activity_rooney2015",
            io["Cytolytic_Activity_Rooney_et_al"][1],
            "immune_effector",
            "Cytolytic activity (CYT): GZMA and PRF1; the paper's score is their geometric mean in TPM.",
            "rooney2015",
            iobr_src,
        ),
        (
            "ifng_6gene_ayers2017",
            io["IFNG_signature_Ayers_et_al"][1],
            "immune_effector",
            "IFN-gamma 6-gene signature (preliminary IFN-gamma signature of Ayers 2017).",
            "ayers2017",
            iobr_src,
        ),
        (
            "expanded_immune_ayers2017",
            io["Expanded_immune_18gene_Ayers_et_al"][1],
            "immune_effector",
            "Expanded immune 18-gene signature of Ayers 2017. Not the final T-cell-inflamed GEP (some libraries "
            "mislabel it so).",
            "ayers2017",
            iobr_src,
        ),
        (
            "gep_18gene_ayers2017",
            curated["MERCK_TCELL_INFLAMED_GEP_18"],
            "immune_effector",
            "Final 18-gene T-cell-inflamed gene expression profile (GEP) of Ayers 2017. The published score is a "
            "weighted sum with weights not released; here it is scored as an unweighted set.",
            "ayers2017",
            "Ayers et al. 2017, as listed in ccf-citi/ioexplorer-wiki internals/genesets.md @37bca64",
        ),
        (
            "tide_ctl_jiang2018",
            curated["TIDE_CTL_MARKERS"],
            "immune_effector",
            "TIDE cytotoxic T lymphocyte (CTL) level: mean expression of CD8A, CD8B, GZMA, GZMB, PRF1.",
            "jiang2018",
            "Jiang et al. 2018, as listed in ashyamal/COMPASS itrp/model/markers",
        ),
        (
            "caf_exclusion_jiang2018",
            io["CAF_Peng_et_al"][1],
            "immune_exclusion",
            "TIDE exclusion: genes of T-cell-excluding cancer-associated fibroblasts.",
            "jiang2018",
            iobr_src,
        ),
        (
            "tam_m2_exclusion_jiang2018",
            io["TAM_Peng_et_al"][1],
            "immune_exclusion",
            "TIDE exclusion: genes of T-cell-excluding M2 tumour-associated macrophages.",
            "jiang2018",
            iobr_src,
        ),
        (
            "mdsc_exclusion_jiang2018",
            io["MDSC_Peng_et_al"][1],
            "immune_exclusion",
            "TIDE exclusion: genes of T-cell-excluding myeloid-derived suppressor cells.",
            "jiang2018",
            iobr_src,
        ),
        (
            "cd8_t_effector_mariathasan2018",
            io["CD_8_T_effector"][1],
            "immune_effector",
            "CD8 T-effector signature.",
            "mariathasan2018",
            iobr_src,
        ),
        (
            "pan_f_tbrs_mariathasan2018",
            io["Pan_F_TBRs"][1],
            "immune_exclusion",
            "Pan-fibroblast TGF-beta response signature (Pan-F-TBRS).",
            "mariathasan2018",
            iobr_src,
        ),
        (
            "immune_checkpoint_mariathasan2018",
            io["Immune_Checkpoint"][1],
            "immune_suppression",
            "Immune checkpoint genes.",
            "mariathasan2018",
            iobr_src,
        ),
        (
            "antigen_processing_machinery_mariathasan2018",
            io["APM"][1],
            "antigen_presentation",
            "Antigen processing machinery (APM).",
            "mariathasan2018",
            iobr_src,
        ),
    ]
    for key in (
        "MHC_Class_I",
        "Co_stimulation_APC",
        "Co_stimulation_T_cell",
        "Co_inhibition_APC",
        "Co_inhibition_T_cell",
        "Type_I_IFN_Reponse",
    ):
        label = key.replace("Reponse", "Response")
        imm.append(
            (
                f"{snake(label)}_rooney2015",
                io[f"{key}_Rooney_et_al"][1],
                "immune_activation",
                f"{label.replace('_', ' ')} genes of Rooney 2015.",
                "rooney2015",
                iobr_src,
            )
        )
    for name, genes, cat, desc, cite, src in imm:
        out.append(_gs(name, genes, "immunotherapy", cat, desc, cite, src, FACTS))

    # --- TLS ---------------------------------------------------------------------------------------
    out.append(
        _gs(
            "tls_9gene_cabrita2020",
            io["TLS_Nature"][1],
            "tls",
            "tls",
            "Tertiary lymphoid structure 9-gene signature (melanoma).",
            "cabrita2020",
            iobr_src,
            FACTS,
        )
    )
    out.append(
        _gs(
            "tls_12chemokine_messina2012",
            curated["TLS_12_CHEMOKINE"],
            "tls",
            "tls",
            "12-chemokine signature of lymph-node-like structures (Coppola 2011; Messina 2012)." + UNVERIFIED,
            "messina2012",
            "Messina et al. 2012 main text",
            FACTS,
        )
    )

    # --- CAF ---------------------------------------------------------------------------------------
    caf_cur = [
        (
            "pan_caf_markers",
            "PAN_CAF",
            "Pan-CAF / pan-fibroblast markers (PDGFRA/B, FAP, PDPN, THY1, COL1A1/2, DCN, LUM, ...).",
            "elyada2019",
        ),
        (
            "mycaf_ohlund2017",
            "MYCAF_CORE",
            "Myofibroblastic CAF (myCAF): alphaSMA-high, next to tumour cells, "
            "TGF-beta driven (Ohlund 2017; Elyada 2019).",
            "ohlund2017",
        ),
        (
            "icaf_ohlund2017",
            "ICAF_CORE",
            "Inflammatory CAF (iCAF): alphaSMA-low, IL6-high, distant from tumour "
            "cells, IL-1/JAK-STAT driven (Ohlund 2017; Elyada 2019; Biffi 2019).",
            "ohlund2017",
        ),
        (
            "apcaf_elyada2019",
            "APCAF_CORE",
            "Antigen-presenting CAF (apCAF): MHC class II and CD74 without classical co-stimulatory molecules.",
            "elyada2019",
        ),
    ]
    for name, key, desc, cite in caf_cur:
        out.append(
            _gs(
                name,
                curated[key],
                "caf",
                "caf_state",
                desc + UNVERIFIED,
                cite,
                "curated from the publications' main text",
                FACTS,
            )
        )
    kief = [
        ("ecm_myCAF", "ECM-myCAF"),
        ("TGFb_myCAF", "TGF-beta-myCAF"),
        ("wound_myCAF", "wound-myCAF"),
        ("IL_iCAF", "IL-iCAF"),
        ("detox_iCAF", "detox-iCAF"),
        ("IFNg_iCAF", "IFN-gamma-iCAF"),
        ("CAF_S1", "CAF-S1 (all clusters)"),
        ("Normal_Fibroblast", "normal fibroblasts"),
    ]
    for key, label in kief:
        out.append(
            _gs(
                f"{snake(key)}_kieffer2020",
                io[key][1],
                "caf",
                "caf_state",
                f"Kieffer 2020 CAF-S1 single-cell cluster: {label}.",
                "kieffer2020",
                iobr_src,
                FACTS,
            )
        )

    # --- matrisome ---------------------------------------------------------------------------------
    mat = read_gmt(SIG / "naba2012_matrisome.gmt")
    for key, (desc, genes) in mat.items():
        cat = "matrisome" if key == "MATRISOME" else ("division" if desc.startswith("Division") else "category")
        out.append(
            _gs(
                f"{snake(key)}_naba2012",
                genes,
                "matrisome",
                f"matrisome_{cat}",
                f"Naba 2012 human matrisome - {desc}.",
                "naba2012",
                "Izzilab/MatrisomeAnalyzeR @d8aec6d (data/matrisome.list.rda)",
                FACTS,
            )
        )

    # --- metabolic ---------------------------------------------------------------------------------
    out.append(
        _gs(
            "tyrosine_catabolism_hpdl_nazemi2024",
            curated["TYR_PHE_CATABOLISM_NAZEMI"],
            "metabolic",
            "amino_acid_catabolism",
            "Phenylalanine/tyrosine catabolic chain PAH-TAT-HPD-HGD-GSTZ1-FAH plus HPDL (needed for "
            "ECM-dependent growth under amino-acid starvation) and PAK1 (macropinocytosis). Reactome/GO "
            "tyrosine catabolism sets leave out HPDL." + UNVERIFIED,
            "nazemi2024",
            "Nazemi et al. 2024 main text",
            FACTS,
        )
    )
    out.append(
        _gs(
            "isr_atf4_targets_harding2003",
            curated["ISR_ATF4_CORE"],
            "metabolic",
            "amino_acid_starvation",
            "Integrated stress response / ATF4 amino-acid-response targets (ASNS, DDIT3, TRIB3, CHAC1, "
            "SLC7A11, ...)." + UNVERIFIED,
            "harding2003",
            "textbook ATF4 targets",
            FACTS,
        )
    )
    met = read_gmt(SIG / "metabolic_programs.gmt")
    met_cat = {
        "TYROSINE": "amino_acid_catabolism",
        "PHENYLALANINE": "amino_acid_catabolism",
        "KYNURENINE": "amino_acid_catabolism",
        "AMINO_ACID": "amino_acid_starvation",
        "ATF4": "amino_acid_starvation",
        "INTEGRATED_STRESS": "amino_acid_starvation",
        "HYPOXIA": "hypoxia",
        "GLYCOLYSIS": "glycolysis",
        "COLLAGEN": "ecm_turnover",
        "EXTRACELLULAR": "ecm_turnover",
        "MACROPINOCYTOSIS": "ecm_turnover",
    }
    for key, (desc, genes) in met.items():
        cat = next(v for k, v in met_cat.items() if k in key.upper())
        if key.startswith("REACTOME_"):
            name, cite, src, lic = snake(key), "reactome", "MSigDB C2 via IOBR @27ed713", "CC BY 4.0 (MSigDB)"
        elif key.startswith("GOBP_"):
            name, cite, src, lic = snake(key), "go", "MSigDB C5 via IOBR @27ed713", "CC BY 4.0 (MSigDB)"
        elif key.startswith("Nature_metabolism_Hypoxia"):
            name, cite, src, lic = "hypoxia_15gene_ye2019", "ye2019", iobr_src, FACTS
        else:
            name = snake(key.replace("_IOBR", "")) + "_rosario2018"
            cite, src, lic = "rosario2018", iobr_src, FACTS
        out.append(_gs(name, genes, "metabolic", cat, desc.split(" | ")[-1] + ".", cite, src, lic))

    # --- hallmarks ---------------------------------------------------------------------------------
    for key, (_, genes) in read_gmt(SIG / "msigdb_hallmark.gmt").items():
        label = key.removeprefix("HALLMARK_").replace("_", " ").lower()
        out.append(
            _gs(
                snake(key),
                genes,
                "hallmark",
                "pathway",
                f"MSigDB Hallmark: {label}.",
                "liberzon2015",
                "MSigDB Hallmarks via IOBR @27ed713 (data/hallmark.rda)",
                "CC BY 4.0 (MSigDB)",
            )
        )

    # --- GBM states -----------------------------------------------------------------------------------
    for key, (_, genes) in read_gmt(SIG / "neftel2019_gbm_states.gmt").items():
        state = key.removeprefix("NEFTEL_")
        out.append(
            _gs(
                f"{state.lower()}_neftel2019",
                genes,
                "gbm_states",
                "cell_state",
                f"Glioblastoma malignant-cell meta-module {state} (Neftel 2019).",
                "neftel2019",
                "jlaffy/scalop @d187f6f (data/Signatures_GBM.rda)",
                FACTS,
            )
        )
    # --- cell-type markers --------------------------------------------------------------------------
    mcp = pd.read_csv(REF / "mcpcounter" / "genes.txt", sep="\t", dtype=str, keep_default_na=False)
    # the file's symbol column has spreadsheet damage (e.g. "C" for SDPR); its Entrez IDs are intact
    for pop, g in mcp.groupby("Cell population", sort=False):
        rec = _gs(
            f"{snake(pop)}_mcpcounter_becht2016",
            list(g["ENTREZID"]),
            "cell_markers",
            "cell_type",
            f"MCP-counter markers of {pop}.",
            "becht2016",
            "ebecht/MCPcounter @b6eac73 (Signatures/genes.txt, Entrez IDs)",
            "CC0 1.0 (MCP-counter Signatures)",
        )
        rec["_id_type"] = "entrez"
        rec["_fallback"] = list(g["HUGO symbols"])
        out.append(rec)
    dan = pd.read_csv(REF / "consensustme" / "data-raw_Danaher_genes.txt", sep="\t", dtype=str, keep_default_na=False)
    for col in dan.columns:
        genes = [x for x in dan[col] if x]
        out.append(
            _gs(
                f"{snake(col)}_danaher2017",
                genes,
                "cell_markers",
                "cell_type",
                f"Danaher 2017 marker genes of {col}.",
                "danaher2017",
                "cansysbio/ConsensusTME @6e14ba3 (data-raw/Danaher_genes.txt)",
                FACTS,
            )
        )
    bin_ = pd.read_csv(REF / "consensustme" / "data-raw_Bindea_genes.txt", sep="\t", dtype=str, keep_default_na=False)
    for col in bin_.columns:
        if col in ("Angiogenesis", "Antigen_presentation_machinery"):
            continue
        genes = [x for x in bin_[col] if x]
        label = col.replace("Citotoxic", "Cytotoxic")
        out.append(
            _gs(
                f"{snake(label)}_bindea2013",
                genes,
                "cell_markers",
                "cell_type",
                f"Bindea 2013 marker genes of {label.replace('_', ' ')}.",
                "bindea2013",
                "cansysbio/ConsensusTME @6e14ba3 (data-raw/Bindea_genes.txt)",
                FACTS,
            )
        )
    for name, key, desc in (
        ("microglia_glioma_muller2017", "GBM_MICROGLIA", "Brain-resident microglia markers in glioma."),
        ("bmdm_glioma_muller2017", "GBM_BMDM", "Bone-marrow-derived macrophage markers in glioma."),
        (
            "pan_myeloid_tam_markers",
            "PAN_MYELOID_TAM",
            "Pan-myeloid / TAM markers shared by microglia and macrophages.",
        ),
    ):
        out.append(
            _gs(
                name,
                curated[key],
                "cell_markers",
                "cell_type",
                desc + UNVERIFIED,
                "muller2017",
                "curated from the publications' main text",
                FACTS,
            )
        )

    names = set()
    for s in out:
        if s["name"] in names:
            sys.exit(f"duplicate set name {s['name']}")
        names.add(s["name"])
        mapped = mapper.map_set(
            s["genes"], s["name"], id_type=s.pop("_id_type", "symbol"), fallback=s.pop("_fallback", None)
        )
        s["genes"] = list(dict.fromkeys(mapped))
    return out, mapper


SOURCE_HEAD = """# Signature library — source, citations, licences

`signatures.json` is the built-in gene-set library of `tmescope.signatures` (version {version}).
It is built by `scripts/build_signature_library.py` from the public reference files described in
`../shared/reference/signatures/PROVENANCE.md` (not shipped). Each set records its name, genes, collection,
category, description, citation, DOI, source and licence; the table below lists them all.

## What may ship, and why

Gene lists are facts: each list is re-entered here as data with the citation of the paper that published
it. No source file is copied. In particular:
- the 29 Bagaev et al. 2021 signatures are the paper's gene lists (the BostonGene/MFP repository files
  are under an academic licence and are not shipped);
- MSigDB Hallmark and the Reactome/GO sets distributed by MSigDB are CC BY 4.0 — cite Liberzon et al.
  2015 (Hallmarks), Reactome and the Gene Ontology;
- MCP-counter markers are CC0 1.0 (ebecht/MCPcounter Signatures/License.txt); symbols were taken from
  their Entrez IDs because the symbol column of the source has spreadsheet damage (e.g. `C` for SDPR);
- sets marked "not yet checked against their supplementary tables" in their description were curated
  from the papers' main text and common usage.

## Gene symbols

Published symbols were mapped to current HGNC approved symbols with `tmescope.genes.harmonize`
(offline HGNC 2024 table, CC0; MCP-counter through its Entrez IDs): approved symbols are kept; a previous
symbol, withdrawn symbol or alias that reaches exactly one approved gene is replaced by it; spreadsheet
dates such as `Mar-06` are restored through previous symbols. {n_changes} symbols were remapped; {n_unmapped} were kept as published
because HGNC has no unique current symbol for them. Both lists are in `signatures.json`
(`remapped_symbols`, `unmapped_symbols`) and returned by `tmescope.signatures.remapped_symbols()`.

## Rebuild

    .venv/bin/python scripts/build_signature_library.py

"""


def write_source_md(sets: list[dict], mapper: SymbolMapper) -> None:
    lines = [
        SOURCE_HEAD.format(version=LIBRARY_VERSION, n_changes=len(mapper.changes), n_unmapped=len(mapper.unmapped))
    ]
    lines.append("## Sets\n")
    lines.append("| name | collection | genes | citation | DOI | licence |")
    lines.append("| --- | --- | --- | --- | --- | --- |")
    for s in sets:
        short = short_reference(s["citation"])
        lines.append(f"| {s['name']} | {s['collection']} | {len(s['genes'])} | {short} | {s['doi']} | {s['licence']} |")
    lines.append("\n## Remapped symbols\n")
    lines.append("| set | published | current | rule |")
    lines.append("| --- | --- | --- | --- |")
    for c in mapper.changes:
        lines.append(f"| {c['set']} | {c['published']} | {c['current']} | {c['rule']} |")
    lines.append("\n## Kept as published (no unique current HGNC symbol)\n")
    lines.append("| set | published | why |")
    lines.append("| --- | --- | --- |")
    for u in mapper.unmapped:
        lines.append(f"| {u['set']} | {u['published']} | {u['why']} |")
    (OUT / "SOURCE.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


DOCS = ROOT / "docs" / "signatures.md"
COLLECTION_TITLES = {
    "bagaev2021": "Bagaev et al. 2021: the 29 functional signatures of the TME subtypes (MFP names and order)",
    "estimate": "ESTIMATE stromal and immune signatures",
    "immunotherapy": "Immunotherapy response and immune contexture",
    "tls": "Tertiary lymphoid structures",
    "caf": "Cancer-associated fibroblast states",
    "matrisome": "Matrisome divisions and categories (Naba et al. 2012)",
    "metabolic": "Metabolic programs",
    "hallmark": "MSigDB Hallmarks (CC BY 4.0)",
    "gbm_states": "Glioblastoma malignant cell states (Neftel et al. 2019)",
    "cell_markers": "Cell-type markers (MCP-counter, Danaher 2017, Bindea 2013, glioma myeloid cells)",
}


def short_reference(citation: str) -> str:
    year = re.search(r"((?:19|20)\d{2})", citation)
    if citation.startswith("Gene Ontology Consortium"):
        return f"Gene Ontology Consortium {year.group(1) if year else ''}".strip()
    author = citation.split(" ", 1)[0].rstrip(",.")
    return f"{author} et al. {year.group(1) if year else ''}".strip()


def write_docs_table(sets: list[dict]) -> None:
    """Refresh the table of every set between the markers of docs/signatures.md."""
    lines = []
    for coll, title in COLLECTION_TITLES.items():
        sub = [s for s in sets if s["collection"] == coll]
        lines += ["", f"### `{coll}`: {title} ({len(sub)} sets)", ""]
        lines += ["| name | genes | category | reference | DOI |", "|---|---|---|---|---|"]
        for s in sub:
            doi = s["doi"]
            lines.append(
                f"| `{s['name']}` | {len(s['genes'])} | {s['category']} | {short_reference(s['citation'])} "
                f"| [{doi}](https://doi.org/{doi}) |"
            )
    text = DOCS.read_text(encoding="utf-8")
    start, end = "<!-- sets:start -->", "<!-- sets:end -->"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    DOCS.write_text(head + start + "\n" + "\n".join(lines).strip("\n") + "\n" + end + tail, encoding="utf-8")


def main() -> None:
    sets, mapper = build()
    OUT.mkdir(parents=True, exist_ok=True)
    payload = {
        "library_version": LIBRARY_VERSION,
        "gene_table": {
            k: v for k, v in snapshot().items() if k in ("hgnc_snapshot", "gencode_release", "tables_sha256")
        },
        "sets": sets,
        "remapped_symbols": mapper.changes,
        "unmapped_symbols": mapper.unmapped,
    }
    tmp = OUT / "signatures.json.tmp"
    tmp.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(OUT / "signatures.json")
    write_source_md(sets, mapper)
    if DOCS.exists():
        write_docs_table(sets)
    print(f"{len(sets)} sets, {len(mapper.changes)} symbols remapped, {len(mapper.unmapped)} left as published")
    for c in mapper.changes:
        print(f"  {c['set']}: {c['published']} -> {c['current']} ({c['rule']})")
    for u in mapper.unmapped:
        print(f"  UNMAPPED {u['set']}: {u['published']} ({u['why']})")


if __name__ == "__main__":
    main()
