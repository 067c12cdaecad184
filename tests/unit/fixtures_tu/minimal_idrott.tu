%header Idrottsförvaltningen | Tjänsteutlåtande | Dnr IDN 2025/0219
%footer Stockholms stad
%numbering literal
%headings styled
= Remiss av motion om fler spontanidrottsplatser i Stockholm
Svar på remiss från kommunstyrelsen, Dnr KS 2025/601
== Förslag till beslut @forslag
Idrottsnämnden besvarar remissen med förvaltningens tjänsteutlåtande.
Ärendet justeras omedelbart.
== Sammanfattning @sammanfattning
Motionären föreslår att staden bygger minst tio nya spontanidrottsplatser varje år fram till år 2030. Idrottsförvaltningen delar bilden av att behovet är stort men bedömer att takten inte ryms i nuvarande investeringsplan.
== Ärendet @arendet
Spontanidrottsplatser byggs i dag av idrottsförvaltningen tillsammans med stadsdelsnämnderna och trafiknämnden. Under de senaste fem åren har i genomsnitt fyra nya platser byggts per år.
== Förvaltningens synpunkter och förslag @synpunkter
Förvaltningen instämmer i att spontanidrott är viktig för barns och ungas hälsa. En utbyggnad med tio platser per år skulle dock kräva ungefär dubbelt så stora investeringsmedel som i dag.
Förvaltningen föreslår att nämnden avstyrker motionen.
~ Karin Wiklund / Idrottsdirektör
